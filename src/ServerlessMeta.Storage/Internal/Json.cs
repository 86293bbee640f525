using System.Text.Json;

namespace ServerlessMeta.Storage.Internal;

/// <summary>The JSON columns of table rows, and checks on what goes into them.</summary>
internal static class Json
{
    /// <summary>Table string properties hold at most 32K UTF-16 characters; stay well below.</summary>
    public const int MaxColumnLength = 30_000;
    public const int MaxEntries = 64;
    public const int MaxKeyLength = 64;
    public const int MaxValueLength = 1_024;

    public static string Hyperparameters(IReadOnlyDictionary<string, string>? values, string field)
    {
        var sorted = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in values ?? new Dictionary<string, string>())
        {
            CheckKey(key, field);
            if (value is null || value.Length > MaxValueLength)
            {
                throw new ArgumentException($"{field}['{key}'] must be a string of at most {MaxValueLength} characters.", $"{field}.{key}");
            }

            sorted[key] = value;
        }

        return Column(JsonSerializer.Serialize(sorted, StorageJsonContext.Stored.SortedDictionaryStringString), sorted.Count, field);
    }

    public static string Metrics(IReadOnlyDictionary<string, double>? values, string field)
    {
        var sorted = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in values ?? new Dictionary<string, double>())
        {
            CheckKey(key, field);
            if (!double.IsFinite(value))
            {
                throw new ArgumentException($"{field}['{key}'] must be a finite number, got {value}.", $"{field}.{key}");
            }

            sorted[key] = value;
        }

        return Column(JsonSerializer.Serialize(sorted, StorageJsonContext.Stored.SortedDictionaryStringDouble), sorted.Count, field);
    }

    public static IReadOnlyDictionary<string, string> ReadHyperparameters(string? json) =>
        string.IsNullOrEmpty(json) ? new SortedDictionary<string, string>(StringComparer.Ordinal)
            : JsonSerializer.Deserialize(json, StorageJsonContext.Stored.SortedDictionaryStringString) ?? [];

    public static IReadOnlyDictionary<string, double> ReadMetrics(string? json) =>
        string.IsNullOrEmpty(json) ? new SortedDictionary<string, double>(StringComparer.Ordinal)
            : JsonSerializer.Deserialize(json, StorageJsonContext.Stored.SortedDictionaryStringDouble) ?? [];

    public static SortedDictionary<string, long> ReadCounts(string? json)
    {
        var parsed = string.IsNullOrEmpty(json) ? null : JsonSerializer.Deserialize(json, StorageJsonContext.Stored.SortedDictionaryStringInt64);
        return parsed is null ? new SortedDictionary<string, long>(StringComparer.Ordinal) : new SortedDictionary<string, long>(parsed, StringComparer.Ordinal);
    }

    public static string WriteCounts(SortedDictionary<string, long> counts) =>
        JsonSerializer.Serialize(counts, StorageJsonContext.Stored.SortedDictionaryStringInt64);

    public static List<long> ReadParts(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize(json, StorageJsonContext.Stored.ListInt64) ?? [];

    public static string WriteParts(List<long> parts) => JsonSerializer.Serialize(parts, StorageJsonContext.Stored.ListInt64);

    /// <summary>Short printable text such as an algorithm name: 1 to 64 characters, no control characters.</summary>
    public static string Name(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value) || value.Length > MaxKeyLength || value.Any(char.IsControl))
        {
            throw new ArgumentException($"{field} must be 1 to {MaxKeyLength} printable characters; got {StorageIds.Describe(value)}.", field);
        }

        return value;
    }

    /// <summary>A SHA-256 as 64 hex digits, returned lowercase.</summary>
    public static string Sha256Hex(string? value, string field)
    {
        if (value is not { Length: 64 } || !value.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"{field} must be a SHA-256 as 64 hexadecimal digits; got {StorageIds.Describe(value)}.", field);
        }

        return value.ToLowerInvariant();
    }

    private static void CheckKey(string key, string field)
    {
        if (string.IsNullOrWhiteSpace(key) || key.Length > MaxKeyLength || key.Any(char.IsControl))
        {
            throw new ArgumentException($"{field} keys must be 1 to {MaxKeyLength} printable characters; got {StorageIds.Describe(key)}.", field);
        }
    }

    private static string Column(string json, int count, string field)
    {
        if (count > MaxEntries || json.Length > MaxColumnLength)
        {
            throw new ArgumentException($"{field} holds at most {MaxEntries} entries and {MaxColumnLength} characters of JSON.", field);
        }

        return json;
    }
}
