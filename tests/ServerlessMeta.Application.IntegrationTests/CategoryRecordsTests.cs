using ServerlessMeta.Application.Categories;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.IntegrationTests;

/// <summary>A version's adaptation metrics are stored as storage's number and text dictionaries and read back typed.</summary>
public sealed class CategoryRecordsTests
{
    [Fact]
    public void MetricsWithAnEstimateReadBackAsTheyWereWritten()
    {
        var metrics = new AdaptationMetrics(12, 0.916667, "4-fold cross-validation", 4, 0.75, 0.833333, 0.833333, CategoryService.NearestCentroidChoice, 0);

        var read = CategoryRecords.Metrics(Stored(metrics, CategoryService.NearestCentroidChoice, null));

        Assert.Equal(metrics, read);
    }

    [Fact]
    public void MetricsWithoutAnEstimateStoreNoEstimateFiguresAndReadBackWithNulls()
    {
        var metrics = new AdaptationMetrics(3, 1, null, null, null, null, null, "from-scratch", 20);

        var stored = Stored(metrics, "protonet", null);
        var read = CategoryRecords.Metrics(stored);

        Assert.Equal(["examples", "supportAccuracy"], stored.Metrics.Keys);
        Assert.Equal(["chosen", "adaptationSteps", "learningRate"], stored.Hyperparameters.Keys);
        Assert.Equal(metrics, read);
    }

    [Theory]
    [InlineData("protonet", 2, "meta-model")]
    [InlineData("maml", null, "from-scratch")]
    [InlineData("nearest-centroid", null, "nearest-centroid")]
    public void ARowFromBeforeTheChoiceWasStoredReadsWithTheChoiceItsLineageImplies(string algorithm, int? metaModelVersion, string chosen)
    {
        var row = Row(algorithm, metaModelVersion, new Dictionary<string, double> { ["examples"] = 4 }, new Dictionary<string, string>());

        var read = CategoryRecords.Metrics(row);

        Assert.Equal(new AdaptationMetrics(4, 0, null, null, null, null, null, chosen, 0), read);
    }

    private static CategoryModelVersion Stored(AdaptationMetrics metrics, string algorithm, int? metaModelVersion)
    {
        var written = CategoryRecords.NewVersion(algorithm, metaModelVersion, metrics, 0.4, [new StoredExample(null, "x", "a")], promote: true);
        return Row(written.Algorithm, written.MetaModelVersion, written.Metrics, written.Hyperparameters);
    }

    private static CategoryModelVersion Row(string algorithm, int? metaModelVersion, IReadOnlyDictionary<string, double> metrics, IReadOnlyDictionary<string, string> hyperparameters) =>
        new("shoes", 1, algorithm, metaModelVersion, new string('0', 64), hyperparameters, metrics, "blob", 1, new string('0', 64), DateTimeOffset.UnixEpoch);
}
