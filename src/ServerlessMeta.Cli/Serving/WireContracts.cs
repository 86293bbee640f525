using System.Text.Json;
using System.Text.Json.Serialization;

namespace ServerlessMeta.Cli.Serving;

// The client's view of the JSON bodies of docs/api.md: only what smeta reads, every field optional
// (the API may add fields; a missing one stays null rather than failing the command).

/// <summary>An example as sent: text, features or both, and a label.</summary>
internal sealed record WireExample(
    [property: JsonPropertyName("text")] string? Text,
    [property: JsonPropertyName("features")] IReadOnlyList<float>? Features,
    [property: JsonPropertyName("label")] string Label);

/// <summary>An item to classify.</summary>
internal sealed record WireItem(
    [property: JsonPropertyName("text")] string? Text,
    [property: JsonPropertyName("features")] IReadOnlyList<float>? Features);

internal sealed record WireAdaptation(int? Steps, double? LearningRate);

internal sealed record CreateCategoryRequest(
    string CategoryId,
    IReadOnlyList<WireExample> Examples,
    IReadOnlyList<string>? Labels = null,
    string? Algorithm = null,
    WireAdaptation? Adaptation = null);

internal sealed record ExamplesRequest(IReadOnlyList<WireExample> Examples, WireAdaptation? Adaptation = null);

internal sealed record PredictRequest(IReadOnlyList<WireItem> Items, int? Version = null);

internal sealed record WireMetrics(
    int? Examples,
    double? SupportAccuracy,
    string? Estimate,
    int? Folds,
    double? MetaModelAccuracy,
    double? BaselineAccuracy,
    double? EstimatedAccuracy,
    string? Chosen,
    int? AdaptationSteps);

internal sealed record WireTimings(double? LoadMs, double? AdaptMs, double? EstimateMs, double? StoreMs, double? TotalMs);

/// <summary>The body of create and feedback (201).</summary>
internal sealed record CategoryModelResponse(
    string? CategoryId,
    int Version,
    int? MetaModelVersion,
    string? Algorithm,
    IReadOnlyList<string>? Labels,
    WireMetrics? Metrics,
    WireTimings? Timings,
    string? Note);

internal sealed record WirePrediction(string? Label, IReadOnlyDictionary<string, double>? Probabilities);

internal sealed record PredictResponse(string? CategoryId, int Version, IReadOnlyList<WirePrediction>? Predictions, string? Warning = null);

internal sealed record IngestResponse(string? CategoryId, bool Created, int Appended, long ExampleCount, IReadOnlyDictionary<string, long>? LabelCounts);

internal sealed record PretrainingStarted(string? InstanceId, string? StatusUri);

internal sealed record PretrainingProgress(
    string? Phase,
    int? Round,
    int? Rounds,
    double? MetaLossAverage,
    double? HeldOutAccuracy,
    double? HeldOutLoss,
    int? BestRound,
    double? BestHeldOutAccuracy,
    double? SecondsPerRound,
    DateTimeOffset? Eta);

internal sealed record PretrainingOutput(
    string? RunId,
    bool Served,
    int? Version,
    string? Reason,
    int? BestRound,
    int? Rounds,
    double? TestAccuracy,
    double? BaselineAccuracy,
    double? BestValidationAccuracy);

internal sealed record PretrainingRunResponse(
    string? InstanceId,
    string? RuntimeStatus,
    PretrainingProgress? Progress,
    PretrainingOutput? Output,
    JsonElement? Failure,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? LastUpdatedAt)
{
    public bool IsActive => RuntimeStatus is null or "Pending" or "Running";

    /// <summary>The failure, whatever shape the API gave it (a string or an object with a message).</summary>
    public string? FailureText => Failure switch
    {
        null => null,
        { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
        { ValueKind: JsonValueKind.String } f => f.GetString(),
        { } f when f.ValueKind == JsonValueKind.Object && f.TryGetProperty("errorMessage", out var m) => m.ToString(),
        { } f when f.ValueKind == JsonValueKind.Object && f.TryGetProperty("message", out var m) => m.ToString(),
        { } f => f.GetRawText(),
    };
}
