using System.Security.Cryptography;

namespace ServerlessMeta.Storage.Tests.Infrastructure;

internal static class TestData
{
    /// <summary>Deterministic pseudo-random model bytes.</summary>
    public static byte[] ModelBytes(int seed, int size)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static NewCategoryModel Metadata(string algorithm = "protonet", int? metaModelVersion = null, bool promote = false) => new()
    {
        Algorithm = algorithm,
        MetaModelVersion = metaModelVersion,
        ExamplesHash = ExampleSetHash.Compute([new StoredExample(null, "support example", "a")]),
        Hyperparameters = new Dictionary<string, string> { ["innerSteps"] = "5", ["innerLearningRate"] = "0.01" },
        Metrics = new Dictionary<string, double> { ["accuracy"] = 0.875 },
        Promote = promote,
    };

    public static StoredExample Example(int index, string label, int features = 4) =>
        new(features > 0 ? [.. Enumerable.Range(0, features).Select(j => index + j / 10f)] : null, $"item {index} of {label}", label);

    /// <summary>Record equality compares lists by reference; compare their contents.</summary>
    public static void AssertSame(StoredExample expected, StoredExample actual)
    {
        Assert.Equal(expected.Label, actual.Label);
        Assert.Equal(expected.Text, actual.Text);
        if (expected.Features is null)
        {
            Assert.Null(actual.Features);
        }
        else
        {
            Assert.Equal(expected.Features, actual.Features!);
        }
    }

    public static async Task<List<T>> ToListAsync<T>(this IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
