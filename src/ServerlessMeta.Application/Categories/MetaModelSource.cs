using System.Diagnostics;
using System.Globalization;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Categories;

/// <summary>
/// Where a category's model starts from: the newest registered meta-model (of the requested algorithm), or a
/// freshly initialised model when there is none or the category's data does not fit it. Keeps the list of
/// meta-models for <see cref="CategoryServiceOptions.MetaModelRefreshInterval"/> and the loaded meta-models
/// (<see cref="CategoryServiceOptions.MetaModelCacheSize"/>) per process.
/// </summary>
internal sealed class MetaModelSource : IDisposable
{
    private readonly MetaModelRegistry _registry;
    private readonly TextEncoders _encoders;
    private readonly CategoryServiceOptions _options;
    private readonly LoadedModelCache<int, MetaModel> _loaded;
    private readonly Lock _lock = new();
    private (long At, IReadOnlyList<MetaModelVersion> Versions)? _versionsSeen;

    public MetaModelSource(MetaModelRegistry registry, TextEncoders encoders, CategoryServiceOptions options)
    {
        _registry = registry;
        _encoders = encoders;
        _options = options;
        _loaded = new(options.MetaModelCacheSize);
    }

    /// <summary>Every meta-model version, newest first; the first is the serving one.</summary>
    public async Task<IReadOnlyList<MetaModelVersion>> ListAsync(CancellationToken cancellationToken)
    {
        var list = new List<MetaModelVersion>();
        await foreach (var version in _registry.ListVersionsAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(version);
        }

        list.Sort((a, b) => b.Version.CompareTo(a.Version));
        return list;
    }

    /// <summary>
    /// The model to adapt to <paramref name="examples"/>: the newest meta-model of <paramref name="requested"/> (any
    /// algorithm when null), or, when there is none, or <paramref name="fallBackToScratch"/> is set and the examples
    /// do not fit it, a freshly initialised one with a note saying so. Release the source when done.
    /// </summary>
    public async Task<AdaptationSource> ChooseAsync(MetaAlgorithm? requested, IReadOnlyList<LabelledItem> examples, bool fallBackToScratch, CancellationToken cancellationToken)
    {
        var versions = await VersionsAsync(cancellationToken).ConfigureAwait(false);
        var wire = requested?.ToWireName();
        var candidate = versions.FirstOrDefault(v => wire is null || string.Equals(v.Algorithm, wire, StringComparison.Ordinal));
        string note;
        if (candidate is not null)
        {
            var lease = await LoadAsync(candidate.Version, cancellationToken).ConfigureAwait(false);
            if (lease.Model.Featurizer is not { } featurizerOptions)
            {
                lease.Dispose();
                throw new InvalidOperationException($"Meta-model version {candidate.Version} has no featurizer.");
            }

            var featurizer = _encoders.Featurizer(featurizerOptions);
            if (!fallBackToScratch || Fits(featurizer, examples))
            {
                return new AdaptationSource(lease.Model, lease, candidate.Version, featurizer, Note: null);
            }

            lease.Dispose();
            note = string.Create(CultureInfo.InvariantCulture, $"The category's data does not fit meta-model version {candidate.Version} (its features or text differ): adapted a freshly initialised model instead.");
        }
        else
        {
            note = wire is null
                ? "No meta-model has been registered yet: adapted a freshly initialised model from scratch. Run pretraining to get a meta-learned initialisation."
                : $"No {wire} meta-model has been registered yet: adapted a freshly initialised {wire} model from scratch.";
        }

        var algorithm = requested ?? RequestValidator.Algorithm(_options.DefaultAlgorithm);
        var options = ScratchFeaturizer(examples, "examples");
        var scratch = MetaModel.Create(algorithm, Config(options), MetaLearningOptions.DefaultsFor(algorithm, TaskKind.Classification), options);
        return new AdaptationSource(scratch, scratch, null, _encoders.Featurizer(options), note);
    }

    /// <summary>Releases the loaded meta-models (those still in use when their request ends).</summary>
    public void Dispose() => _loaded.Dispose();

    private static bool Fits(Featurizer featurizer, IReadOnlyList<LabelledItem> examples)
    {
        try
        {
            featurizer.FeaturizeMany([.. examples.Select(e => e.Item)], "examples");
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// The featurizer a model from scratch gets: the examples' numeric width, and when any example has text,
    /// the deployment's text encoder (<see cref="TextFeaturesOptions"/>) beside hashed n-grams.
    /// </summary>
    private FeaturizerOptions ScratchFeaturizer(IReadOnlyList<LabelledItem> examples, string field)
    {
        var first = examples.FirstOrDefault(e => e.Features is { Count: > 0 });
        var options = _encoders.NewModelOptions(first?.Features!.Count ?? 0, examples.Any(e => !string.IsNullOrWhiteSpace(e.Text)), _options.ScratchTextDimension);
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            var index = examples.ToList().IndexOf(first!);
            throw new ArgumentException(e.Message, $"{field}[{Math.Max(0, index)}].features", e);
        }

        return options;
    }

    private ModelConfig Config(FeaturizerOptions featurizer) =>
        new() { TaskKind = TaskKind.Classification, InputDimension = featurizer.OutputDimension, HiddenWidths = [_options.ScratchHiddenWidth] };

    /// <summary>
    /// Registered meta-models, newest first, re-read at most every <see cref="CategoryServiceOptions.MetaModelRefreshInterval"/>
    /// once there is one: a newer meta-model is picked up within that interval; while there is none, every call asks.
    /// </summary>
    private async Task<IReadOnlyList<MetaModelVersion>> VersionsAsync(CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            if (_versionsSeen is { } seen && Stopwatch.GetElapsedTime(seen.At, now) < _options.MetaModelRefreshInterval)
            {
                return seen.Versions;
            }
        }

        var versions = await ListAsync(cancellationToken).ConfigureAwait(false);
        if (versions.Count > 0)
        {
            // Absence is never cached: the first meta-model is used as soon as it is registered.
            lock (_lock)
            {
                _versionsSeen = (now, versions);
            }
        }

        return versions;
    }

    private Task<ModelLease<MetaModel>> LoadAsync(int version, CancellationToken cancellationToken) =>
        _loaded.AcquireAsync(version, async v =>
        {
            await using var download = await _registry.DownloadVersionAsync(v, CancellationToken.None).ConfigureAwait(false);
            return MetaModel.Load(download.Content);
        }, cancellationToken);
}

/// <summary>The model to adapt, and what to dispose when the request is done with it: the model itself (from scratch) or its lease on the cached meta-model.</summary>
internal sealed record AdaptationSource(MetaModel Model, IDisposable Ownership, int? MetaModelVersion, Featurizer Featurizer, string? Note)
{
    public void Release() => Ownership.Dispose();
}
