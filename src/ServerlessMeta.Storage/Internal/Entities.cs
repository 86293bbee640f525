using Azure;
using Azure.Data.Tables;

namespace ServerlessMeta.Storage.Internal;

/// <summary>A category: partition "categories", row key the category id.</summary>
internal sealed class CategoryEntity : ITableEntity
{
    public string PartitionKey { get; set; } = Keys.CategoriesPartition;

    public string RowKey { get; set; } = string.Empty;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public long ExampleCount { get; set; }

    /// <summary>JSON object label -> example count.</summary>
    public string LabelCounts { get; set; } = "{}";

    public int? FeatureCount { get; set; }

    /// <summary>JSON array: committed byte length of each dataset part; the last one is the part appended to.</summary>
    public string DatasetParts { get; set; } = "[]";

    public int? LatestVersion { get; set; }

    public int? ServingVersion { get; set; }
}

/// <summary>
/// The version number a pretraining run claimed for its meta-model: row "run-{runId}" in the meta-model
/// partition. Inserted once (insert fails if it exists), so a run registers at most one meta-model.
/// </summary>
internal sealed class RunClaimEntity : ITableEntity
{
    public string PartitionKey { get; set; } = Keys.MetaPartition;

    public string RowKey { get; set; } = string.Empty;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public int Version { get; set; }
}

/// <summary>A version counter: row "counter" in a version partition.</summary>
internal sealed class CounterEntity : ITableEntity
{
    public string PartitionKey { get; set; } = string.Empty;

    public string RowKey { get; set; } = Keys.CounterRow;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    /// <summary>The highest version handed out.</summary>
    public int LastAllocated { get; set; }
}

/// <summary>One model version (category model or meta-model): row "v000001" in a version partition.</summary>
internal sealed class VersionEntity : ITableEntity
{
    public const string Ready = "ready";
    public const string Abandoned = "abandoned";

    public string PartitionKey { get; set; } = string.Empty;

    public string RowKey { get; set; } = string.Empty;

    public DateTimeOffset? Timestamp { get; set; }

    public ETag ETag { get; set; }

    public int Version { get; set; }

    /// <summary><see cref="Ready"/>: blob written and verified-on-load; <see cref="Abandoned"/>: claimed by orphan cleanup.</summary>
    public string Status { get; set; } = Ready;

    /// <summary>Random id of the write, also in the blob's metadata: tells a retried request's own row from another's.</summary>
    public string? WriteId { get; set; }

    public string BlobName { get; set; } = string.Empty;

    public long Size { get; set; }

    public string? Sha256 { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? AbandonedAt { get; set; }

    public string? Algorithm { get; set; }

    public int? MetaModelVersion { get; set; }

    public string? ExamplesHash { get; set; }

    public string? PretrainingRunId { get; set; }

    public long? Iterations { get; set; }

    public string? DataSnapshotId { get; set; }

    /// <summary>JSON object of strings.</summary>
    public string Hyperparameters { get; set; } = "{}";

    /// <summary>JSON object of numbers.</summary>
    public string Metrics { get; set; } = "{}";
}
