using System.Globalization;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Pretraining;

/// <summary>
/// The names of a run's artifacts, relative to the run as <see cref="RunArtifactStore"/> addresses them
/// (it adds <c>runs/{runId}/</c>). Every pretraining step names artifacts through here, so the names on
/// storage are fixed in one place.
/// </summary>
public static class RunArtifactNames
{
    /// <summary>The pinned data snapshot (JSON).</summary>
    public const string Snapshot = "snapshot.json";

    /// <summary>The model a run keeps when it is not served.</summary>
    public const string Model = "model.smeta";

    /// <summary>The folder of the shards' round artifacts.</summary>
    public const string Updates = "updates/";

    /// <summary>The folder of the round checkpoints.</summary>
    public const string Checkpoints = "checkpoints/";

    /// <summary>The folder of the embedding chunks.</summary>
    public const string Embeddings = "embeddings/";

    /// <summary>The checkpoint written by <paramref name="round"/> (0: the initial weights).</summary>
    public static string Checkpoint(int round) => string.Create(CultureInfo.InvariantCulture, $"{Checkpoints}r{round:D6}.smeta");

    /// <summary>What <paramref name="shard"/> computed in <paramref name="round"/>.</summary>
    public static string Update(int round, int shard) => string.Create(CultureInfo.InvariantCulture, $"{Updates}r{round:D6}/s{shard:D4}.smu");

    /// <summary>The vectors of one embedding chunk.</summary>
    public static string EmbeddingChunk(int chunk) => string.Create(CultureInfo.InvariantCulture, $"{Embeddings}c{chunk:D5}.vec");

    /// <summary>
    /// The name of a checkpoint reference: the checkpoint of its round, which must be the blob it names
    /// (<see cref="ArgumentException"/> otherwise).
    /// </summary>
    public static string Checkpoint(string runId, CheckpointRef checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var name = Checkpoint(checkpoint.Round);
        return string.Equals(RunArtifactStore.BlobName(runId, name), checkpoint.BlobName, StringComparison.Ordinal)
            ? name
            : throw new ArgumentException($"'{checkpoint.BlobName}' is not the round-{checkpoint.Round} checkpoint of run '{runId}'.", nameof(checkpoint));
    }
}
