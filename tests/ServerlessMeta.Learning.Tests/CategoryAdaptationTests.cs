using ServerlessMeta.Learning.Adaptation;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Tasks;
using static TorchSharp.torch;

namespace ServerlessMeta.Learning.Tests;

/// <summary>Adapt-and-choose of one category: the meta-model's adaptation or nearest centroid, by stratified k-fold cross-validation.</summary>
[Collection(LiveTensorCounting.Name)]
public class CategoryAdaptationTests
{
    private const int Dimension = 6;

    [Theory]
    [InlineData(MetaAlgorithm.Maml)]
    [InlineData(MetaAlgorithm.ProtoNet)]
    [InlineData(MetaAlgorithm.MatchingNet)]
    public void TheResultIsTheCrossValidatedChoiceAndTheStoredModelsSupportAccuracy(MetaAlgorithm algorithm)
    {
        using var model = MetaModel.Create(algorithm, TestData.Classifier(Dimension, hidden: 8), seed: 2);
        var support = Support(TestData.RandomClassificationEpisode(3, 4, 1, Dimension, seed: 5).Support);
        var adaptation = new AdaptationOptions(Steps: 3);

        using var result = CategoryAdaptation.Adapt(model, fromScratch: false, support, adaptation, maxFolds: 5);
        var expected = CrossValidatedAdaptation.Choose(model, support.Set, support.Labels, adaptation, 5);
        using var expectedModel = expected.Model;
        var expectedAccuracy = Evaluator.Accuracy(expected.Model.Predict(support.Set.Features, support.Set.Count), support.Set.Classes!, support.Labels.Count);

        Assert.Equal(expected.NearestCentroidChosen ? ModelChoice.NearestCentroid : ModelChoice.MetaModel, result.Chosen);
        Assert.Equal(12, result.Examples);
        Assert.Equal(4, result.Folds);
        Assert.Equal(expected.MetaAccuracy!.Value, result.MetaModelAccuracy!.Value, 1e-6);
        Assert.Equal(expected.BaselineAccuracy!.Value, result.BaselineAccuracy!.Value, 1e-6);
        Assert.Equal(expectedAccuracy, result.SupportAccuracy, 1e-6);
        Assert.Equal(result.Chosen == ModelChoice.NearestCentroid ? result.BaselineAccuracy : result.MetaModelAccuracy, result.EstimatedAccuracy);
        var predicted = result.Model.Predict(support.Set.Features, support.Set.Count);
        Assert.All(expected.Model.Predict(support.Set.Features, support.Set.Count).Zip(predicted), p => Assert.Equal(p.First, p.Second, 1e-6));
    }

    [Fact]
    public void WithASingleExampleOfSomeLabelThereIsNoEstimateAndTheAdaptationIsKept()
    {
        using var model = MetaModel.Create(MetaAlgorithm.ProtoNet, TestData.Classifier(Dimension, hidden: 8), seed: 2);
        var support = Support(TestData.RandomClassificationEpisode(3, 1, 1, Dimension, seed: 6).Support);

        using var result = CategoryAdaptation.Adapt(model, fromScratch: true, support, new AdaptationOptions(), maxFolds: 5);

        Assert.Equal(ModelChoice.FromScratch, result.Chosen);
        Assert.Equal(0, result.Folds);
        Assert.Null(result.MetaModelAccuracy);
        Assert.Null(result.BaselineAccuracy);
        Assert.Null(result.EstimatedAccuracy);
        Assert.Equal(0, result.EstimateMilliseconds);
    }

    [Fact]
    public void NearestCentroidIsStoredWhenItIsStrictlyBetterHeldOut()
    {
        // An embedding that maps everything to zero can only guess; nearest centroid separates the clusters.
        using var model = MetaModel.Create(MetaAlgorithm.Maml, TestData.Classifier(Dimension, hidden: 8), seed: 3);
        using (no_grad())
        {
            model.Parameters["embed.linear.weight"].zero_();
        }

        var support = Support(TestData.RandomClassificationEpisode(4, 3, 1, Dimension, seed: 7).Support);

        using var result = CategoryAdaptation.Adapt(model, fromScratch: false, support, new AdaptationOptions(Steps: 0), maxFolds: 5);

        Assert.Equal(ModelChoice.NearestCentroid, result.Chosen);
        Assert.Equal(3, result.Folds);
        Assert.True(result.BaselineAccuracy > result.MetaModelAccuracy);
        Assert.Equal(result.BaselineAccuracy, result.EstimatedAccuracy);
        Assert.Equal(0, result.Model.AdaptationSteps);
        Assert.True(result.SupportAccuracy > 0.9, $"support accuracy {result.SupportAccuracy}");
    }

    [Fact]
    public void AdaptingAndChoosingLeavesTheLiveTensorCountFlat()
    {
        using var model = MetaModel.Create(MetaAlgorithm.ProtoNet, TestData.Classifier(Dimension, hidden: 8), seed: 2);
        var support = Support(TestData.RandomClassificationEpisode(3, 3, 1, Dimension, seed: 8).Support);
        void Adapt()
        {
            using var result = CategoryAdaptation.Adapt(model, fromScratch: false, support, new AdaptationOptions(Steps: 2), maxFolds: 5);
        }

        Adapt(); // warm-up
        LiveTensorCounting.CollectEarlierGarbage();
        var before = Tensor.TotalCount;
        for (var i = 0; i < 20; i++)
        {
            Adapt();
        }

        Assert.Equal(before, Tensor.TotalCount);
    }

    private static SupportSet Support(TaskSet set) => new(set, [.. Enumerable.Range(0, set.Classes!.Max() + 1).Select(c => $"c{c}")]);
}
