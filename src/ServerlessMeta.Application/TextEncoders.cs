using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Featurization.Text;

namespace ServerlessMeta.Application;

/// <summary>How a deployment featurizes text (setting <see cref="SettingName"/>).</summary>
public sealed class TextFeaturesOptions
{
    /// <summary>The setting (environment variable) that chooses the text features of new models.</summary>
    public const string SettingName = "SMETA_TEXT_ENCODER";

    /// <summary>The pretrained sentence encoder all-MiniLM-L6-v2 beside hashed n-grams (the default).</summary>
    public const string MiniLm = "minilm";

    /// <summary>Hashed n-grams only: no encoder is loaded unless an existing model needs it.</summary>
    public const string Hashed = "hashed";

    public static readonly IReadOnlyList<string> Names = [MiniLm, Hashed];

    /// <summary><see cref="MiniLm"/> or <see cref="Hashed"/>: the text features of models created from now on.</summary>
    public string TextEncoder { get; set; } = MiniLm;

    /// <summary>Intra-op threads of the encoder's ONNX session (default: the cores the process sees).</summary>
    public int EncoderThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>Texts whose vectors are remembered per process (a category's examples come back on every feedback).</summary>
    public int CachedTexts { get; set; } = 50_000;

    /// <summary>The encoder a name stands for (null for <see cref="Hashed"/>); <see cref="ArgumentException"/> naming <paramref name="field"/> otherwise.</summary>
    public static TextEncoderInfo? Resolve(string? name, string field) => name?.Trim().ToLowerInvariant() switch
    {
        MiniLm => MiniLmTextEncoder.Descriptor,
        Hashed => null,
        _ => throw new ArgumentException($"{field} must be '{MiniLm}' (the all-MiniLM-L6-v2 sentence encoder beside hashed n-grams) or '{Hashed}' (hashed n-grams only), got '{name}'.", field),
    };
}

/// <summary>
/// The text encoders of this process: the one new models use (per <see cref="TextFeaturesOptions"/>), and
/// any an existing model names. all-MiniLM-L6-v2 is loaded once, on first use (or at <see cref="WarmUp"/>),
/// and shared by every request behind a per-process cache of recent texts. A deployment set to hashed
/// features still loads it when asked to serve a model that was built on it.
/// </summary>
public sealed partial class TextEncoders : IDisposable
{
    private readonly TextFeaturesOptions _options;
    private readonly ILogger _logger;
    private readonly Lazy<(MiniLmTextEncoder Model, CachingTextEncoder Cached)> _miniLm;

    public TextEncoders(IOptions<TextFeaturesOptions> options, ILogger<TextEncoders> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _logger = logger;
        ForNewModels = TextFeaturesOptions.Resolve(_options.TextEncoder, TextFeaturesOptions.SettingName);
        _miniLm = new(() =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var model = MiniLmTextEncoder.Load(new TextEncoderOptions { Threads = Math.Max(1, _options.EncoderThreads) });
            LogLoaded(_logger, model.Info.Name, clock.Elapsed.TotalMilliseconds);
            return (model, new CachingTextEncoder(model, _options.CachedTexts));
        }, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The encoder models created from now on use (null: hashed n-grams only).</summary>
    public TextEncoderInfo? ForNewModels { get; }

    /// <summary>The setting's name for <see cref="ForNewModels"/>: minilm or hashed.</summary>
    public string DefaultName => ForNewModels is null ? TextFeaturesOptions.Hashed : TextFeaturesOptions.MiniLm;

    /// <summary>Texts this process has run through the encoder network (cache hits not included).</summary>
    public long TextsEmbedded => _miniLm.IsValueCreated ? _miniLm.Value.Model.TextsEmbedded : 0;

    /// <summary>The encoder that makes vectors of <paramref name="info"/>.</summary>
    /// <exception cref="TextEncoderMismatchException">This build has no such encoder.</exception>
    public ITextEncoder Get(TextEncoderInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        if (info == MiniLmTextEncoder.Descriptor)
        {
            return _miniLm.Value.Cached;
        }

        throw new TextEncoderMismatchException($"This build has no text encoder {info}; it has {MiniLmTextEncoder.Descriptor}. The model was made by another build: retrain it here or serve it from that build.");
    }

    /// <summary>The encoder <paramref name="options"/> need (null for hashed-only or no text).</summary>
    public ITextEncoder? For(FeaturizerOptions? options) => options?.Encoder is { } info ? Get(info) : null;

    /// <summary>A featurizer for <paramref name="options"/>, with the encoder they name.</summary>
    public Featurizer Featurizer(FeaturizerOptions options) => new(options, For(options));

    /// <summary>The featurizer options for new models: numeric features, then the default encoder and hashed n-grams when there is text.</summary>
    public FeaturizerOptions NewModelOptions(int numericDimension, bool hasText, int textDimension) =>
        FeaturizerOptions.ForText(hasText ? ForNewModels : null, numericDimension, hasText ? textDimension : 0);

    /// <summary>Loads the default encoder now (about a second) rather than in the first request; nothing for hashed features.</summary>
    public void WarmUp()
    {
        if (ForNewModels is { } info)
        {
            var warm = new float[info.Dimension];
            _miniLm.Value.Model.Embed(["warm up"], warm);
        }
    }

    public void Dispose()
    {
        if (_miniLm.IsValueCreated)
        {
            _miniLm.Value.Model.Dispose();
        }
    }

    [LoggerMessage(EventId = 7231, Level = LogLevel.Information, Message = "Text encoder {Encoder} loaded in {Milliseconds:F0} ms")]
    private static partial void LogLoaded(ILogger logger, string encoder, double milliseconds);
}
