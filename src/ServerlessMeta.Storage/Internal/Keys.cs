using System.Globalization;

namespace ServerlessMeta.Storage.Internal;

/// <summary>Table keys and blob names, built only from validated ids and numbers.</summary>
internal static class Keys
{
    public const string CategoriesPartition = "categories";
    public const string MetaPartition = "meta";
    public const string CounterRow = "counter";
    public const string VersionRowPrefix = "v";

    /// <summary>Upper bound of version row keys ("v" + digits sort below "w").</summary>
    public const string VersionRowEnd = "w";

    public const int MaxVersion = 999_999;

    public const string CategoryModelsPrefix = "categories/";
    public const string MetaModelsPrefix = "meta/";
    public const string DatasetsPrefix = "datasets/";
    public const string ModelFileName = "model.smeta";

    /// <summary>Partition of one category's version rows and version counter.</summary>
    public static string CategoryModelsPartition(string categoryId) => "models." + categoryId;

    /// <summary>The claim row of a pretraining run in the meta-model partition (sorts before the version rows).</summary>
    public static string RunClaimRow(string runId) => "run-" + runId;

    public static string VersionRow(int version) => "v" + version.ToString("D6", CultureInfo.InvariantCulture);

    public static string CategoryModelBlob(string categoryId, int version) =>
        $"{CategoryModelsPrefix}{categoryId}/{VersionRow(version)}/{ModelFileName}";

    public static string MetaModelBlob(int version) => $"{MetaModelsPrefix}{VersionRow(version)}/{ModelFileName}";

    public static string DatasetPartBlob(string categoryId, int part) =>
        $"{DatasetsPrefix}{categoryId}/part-{part.ToString("D6", CultureInfo.InvariantCulture)}.jsonl";

    /// <summary>Parses "v000123" (exactly six digits).</summary>
    public static bool TryParseVersionRow(string? rowKey, out int version)
    {
        version = 0;
        return rowKey is { Length: 7 } && rowKey[0] == 'v' && rowKey.AsSpan(1).ContainsOnlyAsciiDigits() &&
            int.TryParse(rowKey.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out version) && version > 0;
    }

    /// <summary>Parses "categories/{id}/v000001/model.smeta".</summary>
    public static bool TryParseCategoryModelBlob(string name, out string categoryId, out int version)
    {
        categoryId = string.Empty;
        version = 0;
        var parts = name.Split('/');
        if (parts.Length != 4 || parts[0] + "/" != CategoryModelsPrefix || parts[3] != ModelFileName || !StorageIds.IsValid(parts[1]))
        {
            return false;
        }

        categoryId = parts[1];
        return TryParseVersionRow(parts[2], out version);
    }

    /// <summary>Parses "meta/v000001/model.smeta".</summary>
    public static bool TryParseMetaModelBlob(string name, out int version)
    {
        version = 0;
        var parts = name.Split('/');
        return parts.Length == 3 && parts[0] + "/" == MetaModelsPrefix && parts[2] == ModelFileName && TryParseVersionRow(parts[1], out version);
    }
}

internal static class SpanExtensions
{
    public static bool ContainsOnlyAsciiDigits(this ReadOnlySpan<char> span) => !span.IsEmpty && !span.ContainsAnyExceptInRange('0', '9');
}
