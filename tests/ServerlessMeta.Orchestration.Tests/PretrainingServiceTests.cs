using ServerlessMeta.Application;
using ServerlessMeta.Application.Pretraining;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Orchestration.Tests.Infrastructure;

namespace ServerlessMeta.Orchestration.Tests;

/// <summary>The application steps the activities wrap, on real storage: idempotency and the data split.</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class PretrainingServiceTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task AReExecutedAggregateStepNeverAppliesAnUpdateTwiceNorLeavesTwoCheckpoints()
    {
        await using var environment = await DurableEnvironment.CreateAsync(azurite);
        var rounds = environment.Rounds;
        var plan = PretrainingOrchestrationTests.SmallPlan("idempotent", "fomaml", rounds: 3);
        var prepared = await rounds.PrepareAsync(plan);
        Assert.Equal(prepared.Initial, (await rounds.PrepareAsync(plan)).Initial);

        var shards = new List<ShardResult>();
        for (var shard = 0; shard < plan.Shards; shard++)
        {
            var first = await rounds.ComputeShardAsync(new ShardRequest(plan, 1, shard, prepared.Initial));
            var again = await rounds.ComputeShardAsync(new ShardRequest(plan, 1, shard, prepared.Initial));
            Assert.Equal(first.ETag, again.ETag);
            Assert.Equal(first.LossSum, again.LossSum);
            shards.Add(first);
        }

        // Three executions of the same step, two of them concurrent: exactly one applies.
        var request = new AggregateRequest(plan, 1, prepared.Initial, shards);
        var concurrent = await Task.WhenAll(Task.Run(() => rounds.AggregateAsync(request)), Task.Run(() => rounds.AggregateAsync(request)));
        var later = await rounds.AggregateAsync(request);
        var results = concurrent.Append(later).ToList();
        Assert.Single(results, r => r.Applied);
        Assert.Single(results.Select(r => r.Checkpoint).Distinct());

        var checkpoints = new List<string>();
        await foreach (var name in environment.Artifacts.ListAsync(plan.RunId, "checkpoints/"))
        {
            checkpoints.Add(name);
        }

        Assert.Equal([RunArtifactNames.Checkpoint(0), RunArtifactNames.Checkpoint(1)], checkpoints);

        // The stored round-1 checkpoint took exactly one outer step.
        using var stored = await environment.CheckpointAsync(plan.RunId, 1);
        Assert.Equal(1, stored.Optimizer.Step);
        using var reference = await environment.InProcessReferenceAsync(plan, 1);
        Assert.True(DurableEnvironment.MaxDifference(stored, reference) <= 1e-5);
    }

    [Fact]
    public async Task AOneShardRoundInOneStepEqualsTheInProcessStepAndAppliesOnce()
    {
        await using var environment = await DurableEnvironment.CreateAsync(azurite);
        var rounds = environment.Rounds;
        var plan = PretrainingOrchestrationTests.SmallPlan("oneround", "fomaml", rounds: 2) with { Shards = 1, ThreadsPerShard = 2 };
        var prepared = await rounds.PrepareAsync(plan);

        var first = await rounds.ComputeRoundAsync(new RoundRequest(plan, 1, prepared.Initial, Validate: true));
        var again = await rounds.ComputeRoundAsync(new RoundRequest(plan, 1, prepared.Initial, Validate: true));

        Assert.True(first.Applied);
        Assert.False(again.Applied);
        Assert.Equal(first.Checkpoint, again.Checkpoint);
        Assert.Equal(first.MeanLoss, again.MeanLoss);
        Assert.NotNull(first.Validation);
        Assert.Equal(first.Validation, again.Validation);
        using var stored = await environment.CheckpointAsync(plan.RunId, 1);
        using var reference = await environment.InProcessReferenceAsync(plan, 1);
        Assert.Equal(1, stored.Optimizer.Step);
        Assert.True(DurableEnvironment.MaxDifference(stored, reference) <= 1e-5);
        await Assert.ThrowsAsync<ArgumentException>(() => rounds.ComputeRoundAsync(new RoundRequest(plan with { Shards = 2 }, 2, first.Checkpoint)));
    }

    [Fact]
    public async Task AShardReadsOnlyTheCheckpointVersionNamedByItsETag()
    {
        await using var environment = await DurableEnvironment.CreateAsync(azurite);
        var rounds = environment.Rounds;
        var plan = PretrainingOrchestrationTests.SmallPlan("etag", "protonet", rounds: 1);
        var prepared = await rounds.PrepareAsync(plan);
        var wrong = prepared.Initial with { ETag = "\"0x8DEADBEEF\"" };
        await Assert.ThrowsAsync<Storage.ConflictException>(() => rounds.ComputeShardAsync(new ShardRequest(plan, 1, 0, wrong)));
    }

    [Fact]
    public async Task HeldOutCategoriesAreChosenDeterministicallyAndNeverSampledForTraining()
    {
        await using var environment = await DurableEnvironment.CreateAsync(azurite);
        var plan = PretrainingOrchestrationTests.SmallPlan("split", "protonet", rounds: 1);
        var data = await environment.Data.GetDataAsync(plan);
        var train = data.Train.Select(c => c.CategoryId).ToHashSet();
        var heldOut = data.Validation.Concat(data.Test).Select(c => c.CategoryId).ToList();
        Assert.NotEmpty(data.Validation);
        Assert.NotEmpty(data.Test);
        Assert.DoesNotContain(heldOut, train.Contains);
        Assert.Equal(20, train.Count + heldOut.Count);

        // Every training episode's examples come from training categories only.
        var trainingVectors = data.Train.SelectMany(c => c.ExamplesByLabel.Values.SelectMany(v => v)).Select(Key).ToHashSet();
        foreach (var episode in Learning.Training.TaskSampling.SampleRound(data.TrainingSampler(plan), plan.Seed, 1, 0, 50))
        {
            Assert.All(Rows(episode.Support.Features, episode.Support.Dimension).Concat(Rows(episode.Query.Features, episode.Query.Dimension)), row => Assert.Contains(Key(row), trainingVectors));
        }

        // The split depends on the ids and the seed only.
        var ids = data.Train.Concat(data.Validation).Concat(data.Test).Select(c => c.CategoryId).Reverse().ToList();
        var again = RunData.Split(ids, id => id, plan.Seed, plan.ValidationFraction, plan.TestFraction);
        Assert.Equal(data.Validation.Select(c => c.CategoryId), again.Validation);
        Assert.Equal(data.Test.Select(c => c.CategoryId), again.Test);
        var otherSeed = RunData.Split(ids, id => id, plan.Seed + 1, plan.ValidationFraction, plan.TestFraction);
        Assert.NotEqual(again.Validation.Concat(again.Test), otherSeed.Validation.Concat(otherSeed.Test));
    }

    [Fact]
    public void PlansAreValidated()
    {
        var plan = PretrainingOrchestrationTests.SmallPlan("valid", "protonet", rounds: 1);
        plan.Validate();
        Assert.Throws<ArgumentException>(() => (plan with { Shards = 9 }).Validate());
        Assert.Throws<ArgumentException>(() => (plan with { RunId = "Bad_Id" }).Validate());
        Assert.Throws<ArgumentException>(() => (plan with { Algorithm = "sgd" }).Validate());
        Assert.Equal(MetaAlgorithm.ProtoNet, plan.ParsedAlgorithm);
    }

    private static IEnumerable<float[]> Rows(float[] features, int dimension) =>
        Enumerable.Range(0, features.Length / dimension).Select(i => features.AsSpan(i * dimension, dimension).ToArray());

    private static string Key(float[] row) => Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()));
}

/// <summary>The serving rule: a meta-model that does not beat the baseline is kept, not served.</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class ServingRuleTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData(0.4806, 0.4708, 0.0134, false)] // a win inside the noise (seen on encoder features): not served
    [InlineData(0.4708, 0.4708, 0.0, false)] // the baseline itself (an untrained prototype head)
    [InlineData(0.6325, 0.4617, 0.0400, true)]
    [InlineData(0.5000, 0.4900, 0.0050, true)]
    public void AMetaModelIsServedOnlyWhenItBeatsNearestCentroidByMoreThanChance(double accuracy, double baseline, double ci95, bool served) =>
        Assert.Equal(served, PretrainingEvaluation.BeatsBaseline(new EvaluationResult(1, EvaluationSplit.Test, accuracy, 0.5, baseline, 40, ci95)));

    [Fact]
    public async Task AMetaModelThatDoesNotBeatNearestCentroidIsKeptNotRegisteredAndTheOutcomeSaysWhy()
    {
        // Labels far apart with almost no spread and no nuisance: nearest centroid is perfect, so nothing can beat it.
        var separable = new SyntheticCatalogOptions { ItemsPerLabel = 16, MinLabels = 5, MaxLabels = 6, Text = false, NuisanceFactors = 0, WithinLabelSpread = 0.01 };
        await using var environment = await DurableEnvironment.CreateAsync(azurite, catalog: separable);
        var rounds = environment.Rounds;
        var plan = PretrainingOrchestrationTests.SmallPlan("kept", "protonet", rounds: 1);
        var prepared = await rounds.PrepareAsync(plan);
        var shards = new List<ShardResult>();
        for (var shard = 0; shard < plan.Shards; shard++)
        {
            shards.Add(await rounds.ComputeShardAsync(new ShardRequest(plan, 1, shard, prepared.Initial)));
        }

        var round1 = (await rounds.AggregateAsync(new AggregateRequest(plan, 1, prepared.Initial, shards))).Checkpoint;
        var outcome = await environment.Registration.FinishAsync(new FinishRequest(plan, round1, round1, null, new Dictionary<string, int>()));

        Assert.Equal(1.0, outcome.BaselineAccuracy);
        Assert.False(outcome.Served);
        Assert.Null(outcome.Version);
        Assert.Contains("does not beat the baseline", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal($"runs/{plan.RunId}/model.smeta", outcome.ModelBlob);
        Assert.NotNull(await environment.Artifacts.FindAsync(plan.RunId, "model.smeta"));
        Assert.Empty(await environment.VersionsOfRunAsync(plan.RunId));

        // Finishing again (a re-executed step) changes nothing.
        var again = await environment.Registration.FinishAsync(new FinishRequest(plan, round1, round1, null, new Dictionary<string, int>()));
        Assert.Equal(outcome.Reason, again.Reason);
        Assert.Empty(await environment.VersionsOfRunAsync(plan.RunId));
    }
}
