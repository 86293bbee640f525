namespace ServerlessMeta.Application.Categories;

/// <summary>A category: its data's shape and its model versions.</summary>
/// <param name="CategoryId">The category id.</param>
/// <param name="Labels">Its labels in ordinal order.</param>
/// <param name="ExampleCount">Labelled examples stored.</param>
/// <param name="ServingVersion">The model version served (null before the first).</param>
/// <param name="LatestVersion">The newest model version written (null before the first).</param>
/// <param name="CreatedAt">When the category was created.</param>
/// <param name="LabelCounts">Examples per label, labels in ordinal order.</param>
/// <param name="FeatureCount">Numeric features every example with features carries (null until one does).</param>
public sealed record CategoryDetails(
    string CategoryId,
    IReadOnlyList<string> Labels,
    long ExampleCount,
    int? ServingVersion,
    int? LatestVersion,
    DateTimeOffset CreatedAt,
    IReadOnlyDictionary<string, long> LabelCounts,
    int? FeatureCount);

/// <summary>One stored model version of a category.</summary>
/// <param name="Version">The version.</param>
/// <param name="Algorithm">The algorithm of the stored model ("nearest-centroid" when the baseline won).</param>
/// <param name="MetaModelVersion">The meta-model it was adapted from; null when adapted from scratch or nearest centroid.</param>
/// <param name="CreatedAt">When it was stored.</param>
/// <param name="Metrics">What was measured while adapting it (the figures its create or feedback answer gave).</param>
/// <param name="Hyperparameters">The stored hyperparameters (chosen, adaptationSteps, learningRate, estimate).</param>
/// <param name="Size">Bytes of its model file.</param>
/// <param name="Sha256">SHA-256 of its model file (hex).</param>
/// <param name="ExamplesHash">SHA-256 of the examples it was adapted on.</param>
public sealed record CategoryVersionDetails(
    int Version,
    string Algorithm,
    int? MetaModelVersion,
    DateTimeOffset CreatedAt,
    AdaptationMetrics Metrics,
    IReadOnlyDictionary<string, string> Hyperparameters,
    long Size,
    string Sha256,
    string ExamplesHash);

/// <summary>One registered meta-model version and its lineage.</summary>
/// <param name="Version">The version.</param>
/// <param name="Algorithm">Its algorithm (wire name).</param>
/// <param name="CreatedAt">When it was registered.</param>
/// <param name="Metrics">What pretraining measured.</param>
/// <param name="PretrainingRunId">The pretraining run that produced it.</param>
/// <param name="DataSnapshotId">The data snapshot it was trained on.</param>
/// <param name="Iterations">Meta-training iterations.</param>
/// <param name="Hyperparameters">Its hyperparameters.</param>
/// <param name="Size">Bytes of its model file.</param>
/// <param name="Sha256">SHA-256 of its model file (hex).</param>
public sealed record MetaModelDetails(
    int Version,
    string Algorithm,
    DateTimeOffset CreatedAt,
    IReadOnlyDictionary<string, double> Metrics,
    string PretrainingRunId,
    string DataSnapshotId,
    long Iterations,
    IReadOnlyDictionary<string, string> Hyperparameters,
    long Size,
    string Sha256);

/// <summary>A model version's file, verified against its SHA-256.</summary>
/// <param name="Version">The version.</param>
/// <param name="Content">The file's bytes.</param>
/// <param name="Sha256">Its SHA-256 (hex).</param>
public sealed record ModelFile(int Version, byte[] Content, string Sha256);
