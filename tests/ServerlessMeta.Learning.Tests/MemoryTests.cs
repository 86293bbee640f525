using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Training;
using static TorchSharp.torch;

namespace ServerlessMeta.Learning.Tests;

/// <summary>Native tensors must never leak: training and adaptation run inside dispose scopes.</summary>
[Collection(LiveTensorCounting.Name)]
public class MemoryTests
{
    [Theory]
    [InlineData(MetaAlgorithm.Maml)]
    [InlineData(MetaAlgorithm.ProtoNet)]
    [InlineData(MetaAlgorithm.MatchingNet)]
    public void AThousandAdaptationsLeaveTheLiveTensorCountFlat(MetaAlgorithm algorithm)
    {
        const int dimension = 8;
        using var model = MetaModel.Create(algorithm, TestData.Classifier(dimension, hidden: 8), seed: 1);
        var episode = TestData.RandomClassificationEpisode(3, 2, 2, dimension, 1);
        void Adapt()
        {
            using var adapted = model.Adapt(episode.Support, null, new AdaptationOptions(Steps: 2));
            _ = adapted.Predict(episode.Query.Features, episode.Query.Count);
        }

        for (var i = 0; i < 10; i++)
        {
            Adapt(); // warm-up
        }

        LiveTensorCounting.CollectEarlierGarbage();
        var before = Tensor.TotalCount;
        for (var i = 0; i < 1_000; i++)
        {
            Adapt();
        }

        Assert.Equal(before, Tensor.TotalCount);
    }

    [Fact]
    public void TrainingIterationsLeaveTheLiveTensorCountFlat()
    {
        using var model = MetaModel.Create(MetaAlgorithm.MetaSgd, TestData.Sinusoid(hidden: 8), seed: 1);
        var source = new Tasks.SinusoidTaskSource(5, 5);
        MetaTrainer.Train(model, source, new TrainingOptions { Iterations = 5, MetaBatchSize = 3 });
        LiveTensorCounting.CollectEarlierGarbage();
        var before = Tensor.TotalCount;
        MetaTrainer.Train(model, source, new TrainingOptions { Iterations = 200, MetaBatchSize = 3, Threads = 2 });
        Assert.Equal(before, Tensor.TotalCount);
    }

    [Fact]
    public void LiveCountSeesATensorThatIsNotDisposed()
    {
        // Guards the two tests above against a counter that never moves.
        var before = Tensor.TotalCount;
        var leaked = ones(3);
        Assert.Equal(before + 1, Tensor.TotalCount);
        leaked.Dispose();
        Assert.Equal(before, Tensor.TotalCount);
    }
}

/// <summary>Tests that count process-wide live tensors must not run beside other tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LiveTensorCounting
{
    public const string Name = "Live tensor counting";

    /// <summary>
    /// Finalizes what earlier tests left to the garbage collector, so that it is not finalized (and the
    /// live count does not drop) while a test counts.
    /// </summary>
    public static void CollectEarlierGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }
}
