using System.Text.Json.Serialization;

namespace ServerlessMeta.Learning.Data;

/// <summary>
/// One product as the service sees it: numeric features, short text, or both.
/// JSON shape: <c>{ "features": [numbers], "text": "..." }</c>.
/// </summary>
public sealed record CatalogItem(
    [property: JsonPropertyName("features")] IReadOnlyList<float>? Features = null,
    [property: JsonPropertyName("text")] string? Text = null);

/// <summary>A catalogue item with its label: <c>{ "features": [...], "text": "...", "label": "..." }</c>.</summary>
public sealed record LabelledItem(
    [property: JsonPropertyName("features")] IReadOnlyList<float>? Features,
    [property: JsonPropertyName("text")] string? Text,
    [property: JsonPropertyName("label")] string Label)
{
    [JsonIgnore]
    public CatalogItem Item => new(Features, Text);
}
