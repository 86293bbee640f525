namespace ServerlessMeta.Storage;

/// <summary>What a pretraining run records about the meta-model it produced.</summary>
public sealed record NewMetaModel
{
    public required string Algorithm { get; init; }

    /// <summary>The pretraining run (an id following <see cref="StorageIds"/>).</summary>
    public required string PretrainingRunId { get; init; }

    /// <summary>Meta-iterations trained.</summary>
    public required long Iterations { get; init; }

    /// <summary>The data snapshot it was trained on (<see cref="DataSnapshot.Id"/>).</summary>
    public required string DataSnapshotId { get; init; }

    public IReadOnlyDictionary<string, string> Hyperparameters { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();
}

/// <summary>One stored meta-model version and its lineage.</summary>
public sealed record MetaModelVersion(
    int Version,
    string Algorithm,
    string PretrainingRunId,
    long Iterations,
    string DataSnapshotId,
    IReadOnlyDictionary<string, string> Hyperparameters,
    IReadOnlyDictionary<string, double> Metrics,
    string BlobName,
    long Size,
    string Sha256,
    DateTimeOffset CreatedAt);

