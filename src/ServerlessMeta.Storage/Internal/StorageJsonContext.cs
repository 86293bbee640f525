using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ServerlessMeta.Storage.Internal;

/// <summary>Source-generated JSON for dataset lines and the JSON columns of table rows.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StoredExample))]
[JsonSerializable(typeof(SortedDictionary<string, long>))]
[JsonSerializable(typeof(SortedDictionary<string, string>))]
[JsonSerializable(typeof(SortedDictionary<string, double>))]
[JsonSerializable(typeof(List<long>))]
internal sealed partial class StorageJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context every stored JSON goes through: non-ASCII text is written as UTF-8, not \uXXXX (smaller
    /// lines, and label counts that fit a table property). Quotes and control characters are still escaped,
    /// so a JSON line never spans two lines.
    /// </summary>
    public static StorageJsonContext Stored { get; } = new(new JsonSerializerOptions
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    });
}
