using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Learning.Training;

namespace ServerlessMeta.Learning.Tests;

public class AlgorithmTests
{
    public static TheoryData<MetaAlgorithm> GradientBased => [MetaAlgorithm.Maml, MetaAlgorithm.FoMaml, MetaAlgorithm.Reptile, MetaAlgorithm.MetaSgd];

    public static TheoryData<MetaAlgorithm> All => [.. MetaAlgorithms.All];

    [Theory]
    [MemberData(nameof(GradientBased))]
    public void GradientBasedAlgorithmsImproveOnTheirInitialisationForRegression(MetaAlgorithm algorithm)
    {
        // Meta-SGD's learned rates make it the most sensitive to the outer step: it takes a smaller one.
        var options = MetaLearningOptions.DefaultsFor(algorithm, TaskKind.Regression) with { OuterLearningRate = algorithm == MetaAlgorithm.MetaSgd ? 0.002 : 0.003 };
        using var model = MetaModel.Create(algorithm, TestData.Sinusoid(hidden: 20), options, seed: 5);
        var evaluation = TestData.SinusoidTasks(40, seed: 77, shots: 10, queries: 20);
        var before = Evaluator.RegressionMse(model, evaluation, steps: 5).Average();
        MetaTrainer.Train(model, new SinusoidTaskSource(10, 10), new TrainingOptions { Iterations = 150, MetaBatchSize = 8, Seed = 5 });
        var after = Evaluator.RegressionMse(model, evaluation, steps: 5).Average();
        Assert.True(after < 0.8 * before, $"{algorithm}: post-adaptation MSE {before:F3} -> {after:F3}");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void EveryAlgorithmImprovesOnItsInitialisationForClassification(MetaAlgorithm algorithm)
    {
        var (_, featurizer, train, test) = TestData.Catalog();
        // A small logit scale keeps the prototype-initialised heads out of saturation on this tiny family,
        // so the gradient-based inner loops have something to do within a short run.
        var options = MetaLearningOptions.DefaultsFor(algorithm, TaskKind.Classification) with { InitialLogitScale = 0.1, OuterLearningRate = 0.003 };
        using var model = MetaModel.Create(algorithm, TestData.Classifier(featurizer.OutputDimension), options, featurizer.Options, seed: 1);
        var evaluation = TaskSampling.SampleEvaluation(new EpisodeSampler(test, 5, 1, 5), 11, 60);
        var before = Evaluator.ClassificationAccuracy(model, evaluation).Average();
        MetaTrainer.Train(model, new EpisodeSampler(train, 5, 1, 5), new TrainingOptions { Iterations = 60, MetaBatchSize = 4, Seed = 2 });
        var after = Evaluator.ClassificationAccuracy(model, evaluation).Average();
        Assert.True(after > before + 0.05, $"{algorithm}: held-out accuracy {before:P1} -> {after:P1}");
    }

    [Theory]
    [MemberData(nameof(All))]
    public void ClassifiesAnyNumberOfLabels(MetaAlgorithm algorithm)
    {
        const int dimension = 12;
        using var model = MetaModel.Create(algorithm, TestData.Classifier(dimension), seed: 1);
        foreach (var ways in new[] { 2, 7 })
        {
            var episode = TestData.RandomClassificationEpisode(ways, shots: 3, queries: 4, dimension, seed: ways);
            var update = model.ComputeTaskUpdate(episode);
            Assert.All(update.Sums.SelectMany(s => s), v => Assert.True(float.IsFinite(v)));
            model.ApplyUpdate(update);

            using var adapted = model.Adapt(episode.Support, [.. Enumerable.Range(0, ways).Select(i => $"label-{i}")]);
            Assert.Equal(ways, adapted.Labels.Count);
            var probabilities = adapted.Predict(episode.Query.Features, episode.Query.Count);
            Assert.Equal(episode.Query.Count * ways, probabilities.Length);
            for (var row = 0; row < episode.Query.Count; row++)
            {
                Assert.Equal(1.0, probabilities.AsSpan(row * ways, ways).ToArray().Sum(), 4);
            }

            // Well-separated clusters: the adapted model should get nearly all queries right.
            Assert.True(Evaluator.Accuracy(probabilities, episode.Query.Classes!, ways) >= 0.9);
        }
    }

    [Theory]
    [InlineData(MetaAlgorithm.ProtoNet)]
    [InlineData(MetaAlgorithm.MatchingNet)]
    public void MetricMethodsRejectRegression(MetaAlgorithm algorithm)
    {
        var ex = Assert.Throws<ArgumentException>(() => MetaModel.Create(algorithm, TestData.Sinusoid()));
        Assert.Contains("does not support regression", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AlgorithmsAreDistinct()
    {
        // The same task and start give six different meta-gradients: no algorithm is an alias of another.
        const int dimension = 6;
        var episode = TestData.RandomClassificationEpisode(3, shots: 2, queries: 3, dimension, seed: 4);
        var gradients = MetaAlgorithms.All.Select(a =>
        {
            using var model = MetaModel.Create(a, TestData.Classifier(dimension, hidden: 5), new MetaLearningOptions { InnerLearningRate = 0.5, InnerSteps = 2, InitialLogitScale = 0.05 }, seed: 3);
            var update = model.ComputeTaskUpdate(episode);
            return update.Sums.Take(4).SelectMany(s => s).ToArray();
        }).ToList();
        for (var i = 0; i < gradients.Count; i++)
        {
            for (var j = i + 1; j < gradients.Count; j++)
            {
                var distance = gradients[i].Zip(gradients[j], (a, b) => Math.Abs(a - b)).Max();
                Assert.True(distance > 1e-4, $"{MetaAlgorithms.All[i]} and {MetaAlgorithms.All[j]} computed the same meta-gradient (max difference {distance})");
            }
        }
    }

    [Fact]
    public void AdamStepMatchesTorchOptimAdam()
    {
        using var model = MetaModel.Create(MetaAlgorithm.Maml, TestData.Sinusoid(hidden: 6), seed: 2);
        var reference = model.Parameters.Tensors.Select(t => new TorchSharp.Modules.Parameter(t.detach().clone())).ToList();
        using var adam = TorchSharp.torch.optim.Adam(reference, model.Options.OuterLearningRate);
        foreach (var seed in new[] { 1, 2, 3 })
        {
            var update = model.ComputeUpdate(TestData.SinusoidTasks(3, seed));
            model.ApplyUpdate(update);
            adam.zero_grad();
            for (var p = 0; p < reference.Count; p++)
            {
                using var grad = TorchSharp.torch.tensor(update.Sums[p].Select(v => v / update.TaskCount).ToArray(), reference[p].shape);
                reference[p].grad = grad.clone();
            }

            adam.step();
        }

        for (var p = 0; p < reference.Count; p++)
        {
            var ours = model.Parameters.Tensors[p].data<float>().ToArray();
            var theirs = reference[p].data<float>().ToArray();
            for (var i = 0; i < ours.Length; i++)
            {
                Assert.Equal(theirs[i], ours[i], 6);
            }
        }
    }
}
