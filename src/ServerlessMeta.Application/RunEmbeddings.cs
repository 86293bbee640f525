using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Application.Pretraining;
using ServerlessMeta.Learning.Featurization.Text;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application;

/// <summary>The embedding phase of a run: how its snapshot is cut into chunks.</summary>
/// <param name="SnapshotId">The pinned data snapshot.</param>
/// <param name="Encoder">The encoder's cache name (its name and weights' digest).</param>
/// <param name="Chunks">Chunk activities to fan out.</param>
/// <param name="Examples">Examples in the snapshot.</param>
public sealed record EmbeddingPlan(string SnapshotId, string Encoder, int Chunks, long Examples);

/// <summary>One chunk of the embedding phase.</summary>
public sealed record EmbedChunkRequest(PretrainingPlan Plan, int Chunk);

/// <summary>What one chunk did: distinct texts, how many came from the content-addressed cache and how many ran through the encoder.</summary>
public sealed record EmbedChunkResult(int Chunk, int Texts, int FromCache, int Embedded, string Worker, double Milliseconds);

/// <summary>
/// Pretraining's first phase for runs on encoder features: every distinct text of the snapshot is embedded
/// once per encoder, ever. Chunks of the snapshot (consecutive categories of about
/// <see cref="PretrainingPlan.EmbeddingChunkSize"/> examples) are independent activities, so more instances
/// embed faster. A chunk looks its texts up in the <see cref="EmbeddingCache"/> (SHA-256 of the text), embeds
/// only the misses, stores them there, and writes the chunk's vectors as one run artifact that the
/// training steps load (one blob per chunk instead of one per text).
/// </summary>
public sealed partial class RunEmbeddings(DatasetStore datasets, EmbeddingCache cache, RunArtifactStore artifacts, TextEncoders encoders, ILogger<RunEmbeddings> logger)
{
    private static readonly byte[] Magic = "SMEMBED1"u8.ToArray();

    /// <summary>The cache name of an encoder: its name and the first 16 hex digits of its weights' SHA-256, lower-case.</summary>
    public static string CacheName(TextEncoderInfo encoder)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        return $"{encoder.Name}-{encoder.ModelSha256[..16]}".ToLowerInvariant();
    }

    /// <summary>The cache key of a text: lower-case hex SHA-256 of its UTF-8 bytes.</summary>
    public static string TextKey(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Consecutive categories of the snapshot, cut after at least <paramref name="size"/> examples: (first index, count) per chunk.</summary>
    public static IReadOnlyList<(int First, int Count)> Chunks(DataSnapshot snapshot, int size)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var chunks = new List<(int, int)>();
        var first = 0;
        long examples = 0;
        for (var i = 0; i < snapshot.Categories.Count; i++)
        {
            examples += snapshot.Categories[i].ExampleCount;
            if (examples >= size || i == snapshot.Categories.Count - 1)
            {
                chunks.Add((first, i - first + 1));
                first = i + 1;
                examples = 0;
            }
        }

        return chunks;
    }

    public static EmbeddingPlan Plan(PretrainingPlan plan, DataSnapshot snapshot, TextEncoderInfo encoder)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(snapshot);
        return new EmbeddingPlan(snapshot.Id, CacheName(encoder), Chunks(snapshot, plan.EmbeddingChunkSize).Count, snapshot.ExampleCount);
    }

    /// <summary>Embeds one chunk (idempotent: a re-execution finds its artifact, or the cache, and embeds nothing).</summary>
    public async Task<EmbedChunkResult> EmbedChunkAsync(PretrainingPlan plan, DataSnapshot snapshot, TextEncoderInfo encoder, int chunk, string worker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var clock = Stopwatch.StartNew();
        var chunks = Chunks(snapshot, plan.EmbeddingChunkSize);
        if (chunk < 0 || chunk >= chunks.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(chunk), chunk, $"The snapshot has {chunks.Count} embedding chunks.");
        }

        var existing = await artifacts.FindAsync(plan.RunId, RunArtifactNames.EmbeddingChunk(chunk), cancellationToken).ConfigureAwait(false);
        var texts = await ReadTextsAsync(snapshot, chunks[chunk], cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return new EmbedChunkResult(chunk, texts.Count, texts.Count, 0, worker, clock.Elapsed.TotalMilliseconds);
        }

        var name = CacheName(encoder);
        var keys = texts.Select(TextKey).ToList();
        var cached = await cache.GetManyAsync(name, keys, cancellationToken: cancellationToken).ConfigureAwait(false);
        var vectors = new float[texts.Count][];
        var missing = new List<int>();
        for (var i = 0; i < texts.Count; i++)
        {
            if (cached.TryGetValue(keys[i], out var bytes) && Decode(bytes.ToMemory().Span, encoder.Dimension) is { } vector)
            {
                vectors[i] = vector;
            }
            else
            {
                missing.Add(i);
            }
        }

        if (missing.Count > 0)
        {
            var computed = new float[missing.Count * encoder.Dimension];
            encoders.Get(encoder).Embed([.. missing.Select(i => texts[i])], computed);
            var entries = new Dictionary<string, BinaryData>(StringComparer.Ordinal);
            for (var j = 0; j < missing.Count; j++)
            {
                var vector = computed.AsSpan(j * encoder.Dimension, encoder.Dimension).ToArray();
                vectors[missing[j]] = vector;
                entries[keys[missing[j]]] = new BinaryData(Encode(vector));
            }

            await cache.PutManyAsync(name, entries, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        await artifacts.CreateAsync(plan.RunId, RunArtifactNames.EmbeddingChunk(chunk), new BinaryData(EncodeChunk(keys, vectors, encoder.Dimension)), cancellationToken).ConfigureAwait(false);
        LogChunk(logger, plan.RunId, chunk, texts.Count, texts.Count - missing.Count, missing.Count, clock.Elapsed.TotalMilliseconds);
        return new EmbedChunkResult(chunk, texts.Count, texts.Count - missing.Count, missing.Count, worker, clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// The vectors of the run's texts by text key, from the chunk artifacts; a chunk without an artifact (a
    /// run prepared without the embedding phase) is embedded here, through the cache, first.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, float[]>> LoadAsync(PretrainingPlan plan, DataSnapshot snapshot, TextEncoderInfo encoder, string worker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var chunks = Chunks(snapshot, plan.EmbeddingChunkSize);
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (var chunk = 0; chunk < chunks.Count; chunk++)
        {
            BinaryData content;
            try
            {
                content = await artifacts.ReadAsync(plan.RunId, RunArtifactNames.EmbeddingChunk(chunk), null, cancellationToken).ConfigureAwait(false);
            }
            catch (NotFoundException)
            {
                await EmbedChunkAsync(plan, snapshot, encoder, chunk, worker, cancellationToken).ConfigureAwait(false);
                content = await artifacts.ReadAsync(plan.RunId, RunArtifactNames.EmbeddingChunk(chunk), null, cancellationToken).ConfigureAwait(false);
            }

            DecodeChunk(content.ToMemory().Span, encoder.Dimension, result);
        }

        return result;
    }

    private async Task<List<string>> ReadTextsAsync(DataSnapshot snapshot, (int First, int Count) range, CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var texts = new List<string>();
        foreach (var category in snapshot.Categories.Skip(range.First).Take(range.Count))
        {
            await foreach (var example in datasets.ReadExamplesAsync(category, null, cancellationToken).ConfigureAwait(false))
            {
                if (!string.IsNullOrWhiteSpace(example.Text) && seen.Add(example.Text))
                {
                    texts.Add(example.Text);
                }
            }
        }

        return texts;
    }

    private static byte[] Encode(float[] vector)
    {
        var bytes = new byte[vector.Length * sizeof(float)];
        for (var d = 0; d < vector.Length; d++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(d * sizeof(float)), vector[d]);
        }

        return bytes;
    }

    /// <summary>A cached vector, or null when its size is not the encoder's (then it is recomputed).</summary>
    private static float[]? Decode(ReadOnlySpan<byte> bytes, int dimension)
    {
        if (bytes.Length != dimension * sizeof(float))
        {
            return null;
        }

        var vector = new float[dimension];
        for (var d = 0; d < dimension; d++)
        {
            vector[d] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(d * sizeof(float))..]);
        }

        return vector;
    }

    /// <summary>magic "SMEMBED1", dimension (int32), count (int32), then per text its 32-byte SHA-256 and its float32 vector, little-endian.</summary>
    private static byte[] EncodeChunk(List<string> keys, float[][] vectors, int dimension)
    {
        var entry = 32 + (dimension * sizeof(float));
        var bytes = new byte[Magic.Length + 8 + (keys.Count * entry)];
        Magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(Magic.Length), dimension);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(Magic.Length + 4), keys.Count);
        for (var i = 0; i < keys.Count; i++)
        {
            var offset = Magic.Length + 8 + (i * entry);
            Convert.FromHexString(keys[i]).CopyTo(bytes, offset);
            Encode(vectors[i]).CopyTo(bytes, offset + 32);
        }

        return bytes;
    }

    private static void DecodeChunk(ReadOnlySpan<byte> bytes, int dimension, Dictionary<string, float[]> into)
    {
        if (bytes.Length < Magic.Length + 8 || !bytes[..Magic.Length].SequenceEqual(Magic)
            || BinaryPrimitives.ReadInt32LittleEndian(bytes[Magic.Length..]) != dimension)
        {
            throw new InvalidDataException("An embedding chunk artifact is not in the expected format or dimension.");
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes[(Magic.Length + 4)..]);
        var entry = 32 + (dimension * sizeof(float));
        if (bytes.Length != Magic.Length + 8 + ((long)count * entry))
        {
            throw new InvalidDataException("An embedding chunk artifact is truncated.");
        }

        for (var i = 0; i < count; i++)
        {
            var offset = Magic.Length + 8 + (i * entry);
            into[Convert.ToHexStringLower(bytes.Slice(offset, 32))] = Decode(bytes.Slice(offset + 32, dimension * sizeof(float)), dimension)!;
        }
    }

    [LoggerMessage(EventId = 7241, Level = LogLevel.Information, Message = "Run {RunId} embedding chunk {Chunk}: {Texts} texts, {FromCache} from the cache, {Embedded} embedded, in {Milliseconds:F0} ms")]
    private static partial void LogChunk(ILogger logger, string runId, int chunk, int texts, int fromCache, int embedded, double milliseconds);
}
