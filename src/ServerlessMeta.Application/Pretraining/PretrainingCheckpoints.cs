using System.Globalization;
using Microsoft.Extensions.Options;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Serialization;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Pretraining;

/// <summary>
/// A run's round checkpoints (<see cref="RunArtifactNames.Checkpoint(int)"/>): written create-only, found by
/// round, read by the ETag of their <see cref="CheckpointRef"/>, and loaded once per process into a small
/// cache of recently used models (each round reads the previous one).
/// </summary>
public sealed class PretrainingCheckpoints : IDisposable
{
    private const string MeanLossKey = "meanLoss";

    private readonly RunArtifactStore _artifacts;
    private readonly LoadedModelCache<string, MetaModel> _models;

    public PretrainingCheckpoints(RunArtifactStore artifacts, IOptions<PretrainingServiceOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _artifacts = artifacts;
        _models = new(options.Value.ModelCacheSize);
        TorchRuntime.Configure();
    }

    /// <summary>The stored checkpoint of <paramref name="round"/>, or null when it is not written yet.</summary>
    internal async Task<CheckpointRef?> FindAsync(string runId, int round, CancellationToken cancellationToken)
    {
        var existing = await _artifacts.FindAsync(runId, RunArtifactNames.Checkpoint(round), cancellationToken).ConfigureAwait(false);
        return existing is null ? null : new CheckpointRef(round, existing.BlobName, existing.ETag);
    }

    /// <summary>
    /// Writes <paramref name="model"/> as the checkpoint of <paramref name="round"/> unless it exists; either
    /// way returns the stored one, and whether this call wrote it.
    /// </summary>
    internal async Task<(CheckpointRef Checkpoint, bool Created)> WriteAsync(string runId, int round, MetaModel model, double? meanLoss, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["runId"] = runId, ["round"] = round.ToString(CultureInfo.InvariantCulture) };
        if (meanLoss is { } loss)
        {
            metadata[MeanLossKey] = loss.ToString("R", CultureInfo.InvariantCulture);
        }

        model.Save(buffer, metadata);
        var written = await _artifacts.CreateAsync(runId, RunArtifactNames.Checkpoint(round), new BinaryData(buffer.ToArray()), cancellationToken).ConfigureAwait(false);
        return (new CheckpointRef(round, written.BlobName, written.ETag), written.Created);
    }

    /// <summary>The bytes of a checkpoint, exactly the version its ETag names.</summary>
    internal Task<BinaryData> ReadAsync(string runId, CheckpointRef checkpoint, CancellationToken cancellationToken) =>
        _artifacts.ReadAsync(runId, RunArtifactNames.Checkpoint(runId, checkpoint), checkpoint.ETag, cancellationToken);

    /// <summary>The meta-loss of the round that wrote the checkpoint, as recorded in it.</summary>
    internal async Task<double> ReadMeanLossAsync(string runId, CheckpointRef checkpoint, CancellationToken cancellationToken)
    {
        var stored = ModelFile.ReadFrom((await ReadAsync(runId, checkpoint, cancellationToken).ConfigureAwait(false)).ToStream());
        return stored.Header.Metadata.TryGetValue(MeanLossKey, out var text)
            ? double.Parse(text, CultureInfo.InvariantCulture)
            : throw new InvalidDataException($"Checkpoint {checkpoint.BlobName} does not record its round's meta-loss.");
    }

    /// <summary>
    /// A lease on a checkpoint pinned by its ETag, loaded once per process: dispose the lease when done, and
    /// never modify or dispose the model.
    /// </summary>
    internal Task<ModelLease<MetaModel>> AcquireAsync(string runId, CheckpointRef checkpoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return _models.AcquireAsync(checkpoint.BlobName + "|" + checkpoint.ETag, async _ =>
        {
            var bytes = await ReadAsync(runId, checkpoint, CancellationToken.None).ConfigureAwait(false);
            return MetaModel.Load(bytes.ToStream());
        }, cancellationToken);
    }

    /// <summary>Releases the loaded checkpoints (those still in use when their step ends).</summary>
    public void Dispose() => _models.Dispose();
}
