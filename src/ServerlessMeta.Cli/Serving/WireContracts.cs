using System.Text.Json.Serialization;

namespace ServerlessMeta.Cli.Serving;

// The request bodies smeta sends (docs/api.md). The responses it reads are the server's own records:
// ServerlessMeta.Api.Contracts and the application results they name.

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
