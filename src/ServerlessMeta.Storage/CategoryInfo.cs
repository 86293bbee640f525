namespace ServerlessMeta.Storage;

/// <summary>A category as the registry knows it: its data's shape and its model aliases.</summary>
/// <param name="Id">The category id.</param>
/// <param name="CreatedAt">When the category was created.</param>
/// <param name="ExampleCount">Labelled examples stored.</param>
/// <param name="LabelCounts">Examples per label, labels in ordinal order.</param>
/// <param name="FeatureCount">Number of numeric features every example with features carries (null until one does).</param>
/// <param name="LatestVersion">The newest model version written (null before the first).</param>
/// <param name="ServingVersion">The model version served (null before the first).</param>
public sealed record CategoryInfo(
    string Id,
    DateTimeOffset CreatedAt,
    long ExampleCount,
    IReadOnlyDictionary<string, long> LabelCounts,
    int? FeatureCount,
    int? LatestVersion,
    int? ServingVersion)
{
    /// <summary>The category's labels in ordinal order.</summary>
    public IReadOnlyList<string> Labels => [.. LabelCounts.Keys];
}

/// <summary>What a caller asks the store to record about a model adapted to a category.</summary>
public sealed record NewCategoryModel
{
    /// <summary>Algorithm that produced the model, e.g. "protonet".</summary>
    public required string Algorithm { get; init; }

    /// <summary>Version of the meta-model the model was adapted from (null for a model trained from scratch).</summary>
    public int? MetaModelVersion { get; init; }

    /// <summary>SHA-256 (64 hex digits) of the examples it was adapted on: see <see cref="ExampleSetHash"/>.</summary>
    public required string ExamplesHash { get; init; }

    public IReadOnlyDictionary<string, string> Hyperparameters { get; init; } = new Dictionary<string, string>();

    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// Serve this version as soon as it is written, unless a newer version is served by then (a concurrent
    /// writer finished first); the first version of a category is always served.
    /// </summary>
    public bool Promote { get; init; }
}

/// <summary>One stored model version of a category: its lineage and where its bytes are.</summary>
public sealed record CategoryModelVersion(
    string CategoryId,
    int Version,
    string Algorithm,
    int? MetaModelVersion,
    string ExamplesHash,
    IReadOnlyDictionary<string, string> Hyperparameters,
    IReadOnlyDictionary<string, double> Metrics,
    string BlobName,
    long Size,
    string Sha256,
    DateTimeOffset CreatedAt);

/// <summary>The two aliases of a category's (or the meta-model's) versions.</summary>
public enum ModelAlias
{
    /// <summary>The newest version written.</summary>
    Latest,

    /// <summary>The version promoted for serving (categories only; for meta-models the same as latest).</summary>
    Serving,
}
