using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ServerlessMeta.Application.Categories;

namespace ServerlessMeta.Api.IntegrationTests.Infrastructure;

/// <summary>Checks of the bodies the contract describes once and several routes return.</summary>
internal static class ModelResults
{
    /// <summary>
    /// The body of create and feedback (docs/api.md): categoryId, version, metaModelVersion, algorithm,
    /// labels, metrics, timings, note.
    /// </summary>
    public static void Check(JsonObject body, string categoryId, int version, int? metaModelVersion, IEnumerable<string> labels, int examples)
    {
        ArgumentNullException.ThrowIfNull(body);
        var text = Expect.Describe(body);
        Assert.True(body.ContainsKey("note"), $"The body should carry \"note\" (null or a string): {text}");
        var result = body.Deserialize<CategoryModelResult>(ApiJson.Options);
        Assert.True(result is { Labels: not null, Metrics: not null, Timings: not null }, $"Not a create/feedback body: {text}");
        Assert.True(result.CategoryId == categoryId, $"categoryId: {text}");
        Assert.True(result.Version == version, $"Expected version {version}: {text}");
        Assert.True(result.MetaModelVersion == metaModelVersion, $"Expected metaModelVersion {metaModelVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}: {text}");
        Assert.False(string.IsNullOrWhiteSpace(result.Algorithm), text);
        var expectedLabels = labels.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        Assert.True(expectedLabels.SequenceEqual(result.Labels.Order(StringComparer.Ordinal)), $"Expected labels {string.Join(",", expectedLabels)}: {text}");
        Assert.True(result.Labels.Distinct(StringComparer.Ordinal).Count() == expectedLabels.Count, $"Labels repeated: {text}");

        var metrics = result.Metrics;
        Assert.True(metrics.Examples == examples, $"Expected metrics.examples {examples}: {text}");
        Assert.InRange(metrics.SupportAccuracy, 0, 1);
        var chosen = metrics.Chosen;
        Assert.True(chosen is "meta-model" or "from-scratch" or "nearest-centroid", $"metrics.chosen: {text}");
        Assert.True(metaModelVersion is null ? chosen != "meta-model" : chosen != "from-scratch", $"metrics.chosen '{chosen}' does not fit metaModelVersion {metaModelVersion}: {text}");
        Assert.True(metrics.AdaptationSteps >= 0, text);
        if (chosen == "nearest-centroid")
        {
            Assert.True(metrics.AdaptationSteps == 0, $"Nearest centroid takes no adaptation steps: {text}");
        }

        // With 2 or more examples of every label there is a held-out estimate, meta-model vs nearest centroid:
        // stratified k-fold cross-validation with k = min(5, fewest examples of a label).
        if (metrics is not { Estimate: not null, Folds: { } folds, MetaModelAccuracy: { } meta, BaselineAccuracy: { } baseline, EstimatedAccuracy: { } estimated })
        {
            Assert.Fail($"Every test sends 2 or more examples of every label, so an estimate is expected: {text}");
            return;
        }

        Assert.True(metrics.Estimate == $"{folds}-fold cross-validation" && folds is >= 2 and <= 5 && folds <= examples, $"docs/api.md: the estimate is stratified k-fold with k = min(5, fewest examples of a label); got '{metrics.Estimate}', folds {folds}: {text}");
        foreach (var fraction in new[] { meta, baseline, estimated })
        {
            Assert.InRange(fraction, 0, 1);
        }

        Assert.True(Math.Abs(estimated - Math.Max(meta, baseline)) < 1e-9, $"The stored model should be the better of the two estimates: {text}");
        Assert.True(chosen == "nearest-centroid" ? baseline >= meta : meta >= baseline, $"metrics.chosen '{chosen}' is not the better one: {text}");
        Assert.True(chosen == "nearest-centroid" == (result.Algorithm == "nearest-centroid"), $"algorithm vs chosen: {text}");

        var timings = result.Timings;
        foreach (var (phase, ms) in new[] { ("loadMs", timings.LoadMs), ("adaptMs", timings.AdaptMs), ("estimateMs", timings.EstimateMs), ("storeMs", timings.StoreMs) })
        {
            Assert.True(ms >= 0 && ms <= timings.TotalMs + 1, $"timings.{phase} = {ms} should be within [0, totalMs = {timings.TotalMs}]: {text}");
        }
    }

    /// <summary>A model download: SMETAMDL file of exactly the listed size and SHA-256, sealed by its own trailing SHA-256; returns its header.</summary>
    public static JsonObject CheckModelFile(ApiResponse response, JsonNode listed)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(listed);
        response.HasStatus(200);
        Assert.True(response.MediaType == "application/octet-stream", $"Model content type: {response}");
        var bytes = response.Bytes;
        Assert.True(bytes.Length > 14 + 32 && bytes.AsSpan(0, 8).SequenceEqual("SMETAMDL"u8), $"The model file should start with the magic SMETAMDL: {response}");
        Assert.True(bytes.Length == listed.Long("size"), $"Downloaded {bytes.Length} bytes, the versions list says {listed.Long("size")}.");
        Assert.True(string.Equals(Convert.ToHexString(SHA256.HashData(bytes)), listed.Str("sha256"), StringComparison.OrdinalIgnoreCase), "The download's SHA-256 differs from the listed sha256.");
        Assert.True(SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)), "The file's trailing SHA-256 does not seal its content.");
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8, 2)));
        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(10, 4));
        Assert.InRange(headerLength, 2, bytes.Length - 14 - 32);
        return (JsonObject)JsonNode.Parse(Encoding.UTF8.GetString(bytes, 14, headerLength))!;
    }
}
