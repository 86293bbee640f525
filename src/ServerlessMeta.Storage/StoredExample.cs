using System.Text.Json.Serialization;

namespace ServerlessMeta.Storage;

/// <summary>
/// One labelled example as stored: the engine's item shape plus a label,
/// <c>{ "features": [numbers], "text": "...", "label": "..." }</c>. Features and text are each optional
/// but at least one is present.
/// </summary>
public sealed record StoredExample(
    [property: JsonPropertyName("features")] IReadOnlyList<float>? Features,
    [property: JsonPropertyName("text")] string? Text,
    [property: JsonPropertyName("label")] string Label);
