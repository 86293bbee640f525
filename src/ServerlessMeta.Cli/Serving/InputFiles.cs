using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ServerlessMeta.Cli.Serving;

/// <summary>One object read from an input file, with where it came from (for error messages).</summary>
internal sealed record InputRecord(JsonObject Value, string Source)
{
    public string? GetString(string name) =>
        Value.TryGetPropertyValue(name, out var node) && node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public bool Has(string name) => Value.TryGetPropertyValue(name, out var node) && node is not null;
}

/// <summary>
/// Reads the example and item files of the thin commands: JSON Lines (one object per line; blank
/// lines and lines starting with <c>//</c> or <c>#</c> are skipped) or, for a <c>.json</c> file, an array
/// of objects or an object holding one under <c>examples</c> or <c>items</c>. Records are passed to the
/// API as they are (the server validates them); only the fields smeta needs are checked here.
/// </summary>
internal static class InputFiles
{
    /// <summary>Fields of an input line that are not part of an example (the category is in the route).</summary>
    public static readonly string[] NotInExamples = ["categoryId"];

    /// <summary>Fields of an input line that are not part of an item to classify (a label is only scored).</summary>
    public static readonly string[] NotInItems = ["label", "categoryId"];

    public static IReadOnlyList<InputRecord> Read(FileInfo file, string arrayProperty)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!file.Exists)
        {
            throw new InputException($"{file.FullName}: no such file.");
        }

        var text = File.ReadAllText(file.FullName);
        var trimmed = text.TrimStart();
        var isJson = file.Extension.Equals(".json", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith('[');
        return isJson ? ReadJson(file.Name, text, arrayProperty) : ReadLines(file.Name, text);
    }

    /// <summary>Records that carry a label (ingest, create): a missing or empty label is reported with its line.</summary>
    public static IReadOnlyList<InputRecord> RequireLabels(IReadOnlyList<InputRecord> records)
    {
        foreach (var record in records)
        {
            if (string.IsNullOrEmpty(record.GetString("label")))
            {
                throw new InputException($"{record.Source}: \"label\" (a string) is missing.");
            }
        }

        return records;
    }

    /// <summary>A copy of the record without the fields the API does not take in an example or item.</summary>
    public static JsonObject Strip(InputRecord record, params string[] remove)
    {
        ArgumentNullException.ThrowIfNull(record);
        var copy = (JsonObject)record.Value.DeepClone();
        foreach (var name in remove)
        {
            copy.Remove(name);
        }

        return copy;
    }

    private static List<InputRecord> ReadLines(string name, string text)
    {
        var records = new List<InputRecord>();
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal) || line.StartsWith('#'))
            {
                continue;
            }

            var source = string.Create(CultureInfo.InvariantCulture, $"{name}:{number}");
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(line);
            }
            catch (JsonException ex)
            {
                throw new InputException($"{source}: not JSON ({ex.Message})");
            }

            records.Add(node is JsonObject o ? new InputRecord(o, source) : throw new InputException($"{source}: expected a JSON object."));
        }

        return records;
    }

    private static List<InputRecord> ReadJson(string name, string text, string arrayProperty)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new InputException($"{name}: not JSON ({ex.Message})");
        }

        if (node is JsonObject o && o[arrayProperty] is JsonArray inner)
        {
            node = inner;
        }

        if (node is not JsonArray array)
        {
            throw new InputException($"{name}: expected an array of objects or an object with \"{arrayProperty}\".");
        }

        var records = new List<InputRecord>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            var source = string.Create(CultureInfo.InvariantCulture, $"{name}[{i}]");
            records.Add(array[i] is JsonObject item ? new InputRecord(item, source) : throw new InputException($"{source}: expected a JSON object."));
        }

        return records;
    }
}

/// <summary>An input file smeta cannot use (exit code 2: the caller's mistake).</summary>
internal sealed class InputException : Exception
{
    public InputException()
    {
    }

    public InputException(string message)
        : base(message)
    {
    }

    public InputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
