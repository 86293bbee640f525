using Microsoft.Extensions.DependencyInjection;
using ServerlessMeta.Application.Categories;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Orchestration.Local;
using ServerlessMeta.Storage;
using static TorchSharp.torch;

// These tests count process-wide live tensors: nothing may run beside them.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace ServerlessMeta.Application.IntegrationTests;

/// <summary>The category service on real storage (Azurite): adaptation choices, feedback, and tensor hygiene.</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class CategoryServiceTests(AzuriteFixture azurite) : IAsyncLifetime
{
    private const int Dimension = 6;
    private ServiceProvider _services = null!;

    private CategoryService Categories => _services.GetRequiredService<CategoryService>();

    private CategoryRegistry Registry => _services.GetRequiredService<CategoryRegistry>();

    private DatasetStore Datasets => _services.GetRequiredService<DatasetStore>();

    public Task InitializeAsync()
    {
        var suffix = Guid.NewGuid().ToString("N")[..12];
        _services = LocalPretrainingHost.CreateServices(azurite.ConnectionString, "c" + suffix, "T" + suffix, "test");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _services.DisposeAsync();

    [Fact]
    public async Task WithoutAMetaModelACategoryIsAdaptedFromScratchAndSaysSo()
    {
        var result = await Categories.CreateAsync(new CreateCategoryCommand(Id("scratch"), Clusters(3, 4, seed: 1)));

        Assert.Equal(1, result.Version);
        Assert.Null(result.MetaModelVersion);
        Assert.Contains("from scratch", result.Note, StringComparison.Ordinal);
        Assert.Equal("4-fold cross-validation", result.Metrics.Estimate);
        Assert.Equal(12, result.Metrics.Examples);
        var category = await Registry.GetCategoryAsync("scratch");
        Assert.Equal(12, category.ExampleCount);
        Assert.Equal(1, category.ServingVersion);
    }

    [Fact]
    public async Task TheFirstMetaModelIsUsedAsSoonAsItIsRegistered()
    {
        var before = await Categories.CreateAsync(new CreateCategoryCommand(Id("before-meta"), Clusters(3, 2, seed: 12)));
        Assert.Null(before.MetaModelVersion);

        await RegisterMetaModelAsync(MetaAlgorithm.ProtoNet);
        var after = await Categories.CreateAsync(new CreateCategoryCommand(Id("after-meta"), Clusters(3, 2, seed: 13)));

        Assert.Equal(1, after.MetaModelVersion);
        Assert.Null(after.Note);
    }

    [Fact]
    public async Task WhenNearestCentroidBeatsTheMetaModelItIsStoredAndPredictsLikeNearestCentroid()
    {
        // A meta-model whose embedding maps everything to zero can only guess; nearest centroid separates the clusters.
        await RegisterMetaModelAsync(MetaAlgorithm.Maml, collapsed: true);
        var examples = Clusters(4, 3, seed: 2);
        var result = await Categories.CreateAsync(new CreateCategoryCommand(Id("baseline-wins"), examples, Adaptation: new AdaptationInput(Steps: 0)));

        Assert.Equal(CategoryService.NearestCentroidChoice, result.Metrics.Chosen);
        Assert.Equal(CategoryService.NearestCentroidChoice, result.Algorithm);
        Assert.Null(result.MetaModelVersion);
        Assert.True(result.Metrics.BaselineAccuracy > result.Metrics.MetaModelAccuracy);
        Assert.Equal(result.Metrics.BaselineAccuracy, result.Metrics.EstimatedAccuracy);
        Assert.Contains("Nearest centroid", result.Note, StringComparison.Ordinal);

        // The stored model classifies like nearest centroid on the raw features.
        var queries = Clusters(4, 5, seed: 3);
        var predicted = await Categories.PredictAsync(Id("baseline-wins"), [.. queries.Select(Item)]);
        var support = SupportSet.Create(new Featurizer(new FeaturizerOptions { NumericDimension = Dimension, TextDimension = 0 }), [.. examples.Select(e => new LabelledItem(e.Features, e.Text, e.Label!))]);
        var centroid = NearestCentroid.Fit(support.Set, support.Labels.Count);
        var features = queries.SelectMany(q => q.Features!).ToArray();
        var expected = centroid.Classify(features, queries.Count).Select(c => support.Labels[c]);
        Assert.Equal(expected, predicted.Predictions.Select(p => p.Label));
    }

    [Fact]
    public async Task FeedbackAppendsTheExamplesAndServesAModelAdaptedOnAllOfThem()
    {
        await RegisterMetaModelAsync(MetaAlgorithm.ProtoNet);
        var first = await Categories.CreateAsync(new CreateCategoryCommand(Id("feedback"), Clusters(2, 2, seed: 4)));
        Assert.Equal(1, first.MetaModelVersion);
        Assert.Equal(CategoryServiceTestsExtensions.MetaModelChoice, first.Metrics.Chosen);

        var second = await Categories.AddFeedbackAsync(Id("feedback"), Clusters(3, 2, seed: 5));

        Assert.Equal(2, second.Version);
        Assert.Equal(10, second.Metrics.Examples);
        Assert.Equal(["c0", "c1", "c2"], second.Labels);
        var category = await Registry.GetCategoryAsync("feedback");
        Assert.Equal(10, category.ExampleCount);
        Assert.Equal(2, category.ServingVersion);
        var versions = await Categories.ListVersionsAsync(Id("feedback"));
        Assert.Equal([1, 2], versions.Select(v => v.Version));
        Assert.NotEqual(versions[0].ExamplesHash, versions[1].ExamplesHash);
    }

    [Fact]
    public async Task ARejectedRequestWritesNothing()
    {
        await RegisterMetaModelAsync(MetaAlgorithm.ProtoNet);
        var examples = Clusters(2, 2, seed: 6);
        examples[3] = examples[3] with { Features = [1, 2, 3] };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Categories.CreateAsync(new CreateCategoryCommand(Id("rejected"), examples)));

        Assert.Equal("examples[3].features", error.ParamName);
        await Assert.ThrowsAsync<CategoryNotFoundException>(() => Registry.GetCategoryAsync("rejected"));

        await Categories.CreateAsync(new CreateCategoryCommand(Id("kept"), Clusters(2, 2, seed: 7)));
        var tooMany = Clusters(2, 1, seed: 8);
        tooMany[0] = tooMany[0] with { Label = new string('x', DatasetStore.MaxLabelLength + 1) };
        error = await Assert.ThrowsAsync<ArgumentException>(() => Categories.AddFeedbackAsync(Id("kept"), tooMany));
        Assert.Equal("examples[0].label", error.ParamName);
        Assert.Equal(4, (await Registry.GetCategoryAsync("kept")).ExampleCount);
        Assert.Single(await Categories.ListVersionsAsync(Id("kept")));
    }

    [Theory]
    [InlineData(MetaAlgorithm.Maml)]
    [InlineData(MetaAlgorithm.ProtoNet)]
    [InlineData(MetaAlgorithm.MatchingNet)]
    public async Task CreatingFeedingBackAndPredictingLeaveTheLiveTensorCountFlat(MetaAlgorithm algorithm)
    {
        await RegisterMetaModelAsync(algorithm);
        var items = Clusters(3, 4, seed: 9).Select(Item).ToList();
        await Categories.CreateAsync(new CreateCategoryCommand(Id("warm"), Clusters(3, 3, seed: 10)));
        await Categories.PredictAsync(Id("warm"), items);
        await Categories.AddFeedbackAsync(Id("warm"), Clusters(3, 1, seed: 11));
        await Categories.PredictAsync(Id("warm"), items, version: 1);
        await Categories.PredictAsync(Id("warm"), items, version: 2);

        // Earlier tests' garbage must not be finalized while this one counts.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = Tensor.TotalCount;
        for (var i = 0; i < 20; i++)
        {
            await Categories.CreateAsync(new CreateCategoryCommand(Id($"leak-{i}"), Clusters(3, 3, seed: 20 + i)));
            await Categories.PredictAsync(Id("warm"), items);
            await Categories.PredictAsync(Id("warm"), items, version: 1);
        }

        Assert.Equal(before, Tensor.TotalCount);
    }

    [Fact]
    public async Task DisposingTheServicesReleasesEveryLoadedModel()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = Tensor.TotalCount;
        var suffix = Guid.NewGuid().ToString("N")[..12];
        var services = LocalPretrainingHost.CreateServices(azurite.ConnectionString, "c" + suffix, "T" + suffix, "test");
        await using (services)
        {
            var own = _services;
            _services = services;
            try
            {
                await RegisterMetaModelAsync(MetaAlgorithm.ProtoNet);
                await Categories.CreateAsync(new CreateCategoryCommand(Id("loaded"), Clusters(3, 3, seed: 40)));
                await Categories.AddFeedbackAsync(Id("loaded"), Clusters(3, 1, seed: 41));
                await Categories.PredictAsync(Id("loaded"), Clusters(3, 1, seed: 42).Select(Item).ToList(), version: 1);
                Assert.True(Tensor.TotalCount > before, "The service should hold the meta-model and the category's models.");
            }
            finally
            {
                _services = own;
            }
        }

        Assert.Equal(before, Tensor.TotalCount);
    }

    private async Task RegisterMetaModelAsync(MetaAlgorithm algorithm, bool collapsed = false)
    {
        var featurizer = new FeaturizerOptions { NumericDimension = Dimension, TextDimension = 0 };
        var config = new ModelConfig { TaskKind = TaskKind.Classification, InputDimension = Dimension, HiddenWidths = [8] };
        using var model = MetaModel.Create(algorithm, config, MetaLearningOptions.DefaultsFor(algorithm, TaskKind.Classification), featurizer, seed: 3);
        if (collapsed)
        {
            using var noGrad = no_grad();
            model.Parameters["embed.linear.weight"].zero_();
        }

        using var buffer = new MemoryStream();
        model.Save(buffer);
        buffer.Position = 0;
        await _services.GetRequiredService<MetaModelRegistry>().AddVersionAsync(buffer, new NewMetaModel
        {
            Algorithm = algorithm.ToWireName(),
            PretrainingRunId = "test-run",
            Iterations = 0,
            DataSnapshotId = "none",
        });
    }

    /// <summary>Well-separated Gaussian clusters: label c sits around 4·e_c.</summary>
    private static CategoryId Id(string id) => CategoryId.Parse(id, "id");

    private static ItemInput Item(ExampleInput example) => new(example.Features, example.Text);

    private static List<ExampleInput> Clusters(int labels, int perLabel, int seed)
    {
        var random = new Random(seed);
        var examples = new List<ExampleInput>();
        for (var i = 0; i < perLabel; i++)
        {
            for (var c = 0; c < labels; c++)
            {
                var features = new float[Dimension];
                for (var j = 0; j < Dimension; j++)
                {
                    features[j] = (float)((j == c ? 4 : 0) + (random.NextDouble() - 0.5));
                }

                examples.Add(new ExampleInput(features, null, $"c{c}"));
            }
        }

        return examples;
    }
}

internal static class CategoryServiceTestsExtensions
{
    public const string MetaModelChoice = "meta-model";
}
