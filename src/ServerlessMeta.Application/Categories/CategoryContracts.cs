namespace ServerlessMeta.Application.Categories;

/// <summary>Create a category from a few labelled examples and adapt a model to it.</summary>
/// <param name="CategoryId">The new category's id.</param>
/// <param name="Examples">Its labelled examples (every label needs at least one).</param>
/// <param name="Algorithm">Which meta-model to adapt (wire name); null: the serving meta-model's.</param>
/// <param name="Adaptation">Inner-loop steps and learning rate; null fields take the meta-model's defaults.</param>
/// <param name="CaseSensitiveLabels">Keep labels that differ only by case apart (by default such a pair is refused as a typo).</param>
/// <param name="Labels">The labels, declared: every one needs an example and no other may appear; null: the examples' labels.</param>
public sealed record CreateCategoryCommand(
    CategoryId CategoryId,
    IReadOnlyList<ExampleInput?>? Examples,
    string? Algorithm = null,
    AdaptationInput? Adaptation = null,
    bool CaseSensitiveLabels = false,
    IReadOnlyList<string?>? Labels = null);

/// <summary>A model version just adapted and stored for a category.</summary>
/// <param name="CategoryId">The category.</param>
/// <param name="Version">The stored version.</param>
/// <param name="MetaModelVersion">The meta-model it was adapted from; null when adapted from scratch.</param>
/// <param name="Algorithm">The algorithm of the stored model ("nearest-centroid" when the baseline won).</param>
/// <param name="Labels">Its labels, in the order of its outputs.</param>
/// <param name="Metrics">What was measured while adapting.</param>
/// <param name="Timings">Where the time went.</param>
/// <param name="Note">Anything the caller should know, e.g. that no meta-model existed yet.</param>
public sealed record CategoryModelResult(
    string CategoryId,
    int Version,
    int? MetaModelVersion,
    string Algorithm,
    IReadOnlyList<string> Labels,
    AdaptationMetrics Metrics,
    AdaptationTimings Timings,
    string? Note);

/// <summary>Quality figures of an adaptation.</summary>
/// <param name="Examples">Examples adapted on.</param>
/// <param name="SupportAccuracy">Accuracy of the stored model on the examples it was adapted on.</param>
/// <param name="Estimate">How the held-out estimate was made ("5-fold cross-validation": stratified k-fold); null with fewer than 2 examples of some label.</param>
/// <param name="Folds">Folds of that estimate.</param>
/// <param name="MetaModelAccuracy">Held-out estimate of the meta-model's adaptation (or the from-scratch model's).</param>
/// <param name="BaselineAccuracy">Held-out estimate of nearest centroid on the raw features, same folds.</param>
/// <param name="EstimatedAccuracy">The held-out estimate of the model stored.</param>
/// <param name="Chosen">"meta-model", "from-scratch" or "nearest-centroid": what was stored.</param>
/// <param name="AdaptationSteps">Inner-loop steps taken by the stored model (0 for nearest centroid).</param>
public sealed record AdaptationMetrics(
    int Examples,
    double SupportAccuracy,
    string? Estimate,
    int? Folds,
    double? MetaModelAccuracy,
    double? BaselineAccuracy,
    double? EstimatedAccuracy,
    string Chosen,
    int AdaptationSteps);

/// <summary>Milliseconds spent in each phase of an adaptation request.</summary>
public sealed record AdaptationTimings(double LoadMs, double AdaptMs, double EstimateMs, double StoreMs, double TotalMs);

/// <summary>One item's prediction: the top label and the probability of every label (they sum to 1; 32-bit, as the model computes them).</summary>
public sealed record Prediction(string Label, IReadOnlyDictionary<string, float> Probabilities);

/// <summary>
/// Predictions of one model version, in the order of the items. <see cref="Warning"/> says why the version is
/// not the serving one (the serving version's blob was missing or failed its checksum, so the newest older good
/// version answered); it is absent otherwise.
/// </summary>
public sealed record PredictionResult(
    string CategoryId,
    int Version,
    IReadOnlyList<Prediction> Predictions,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Warning = null);

/// <summary>What a bulk ingest stored.</summary>
public sealed record IngestResult(string CategoryId, bool Created, int Appended, long ExampleCount, IReadOnlyDictionary<string, long> LabelCounts);

/// <summary>The service's health: storage reachable and the serving meta-model.</summary>
public sealed record HealthReport(bool StorageReachable, string? StorageError, int? ServingMetaModelVersion, string? ServingMetaModelAlgorithm, string BuildVersion);
