using DurableTask.Core;
using ServerlessMeta.Application;
using ServerlessMeta.Orchestration.Local;
using ServerlessMeta.Orchestration.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ServerlessMeta.Orchestration.Tests;

/// <summary>The pretraining orchestration on the real Durable Task engine (DurableTask.AzureStorage) over a real Azurite.</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class PretrainingOrchestrationTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    /// <summary>Float tolerance: shard sums are added in a different order than the in-process loop's task sums.</summary>
    private const double Tolerance = 1e-5;

    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task DurableRunMatchesTheInProcessLoopRoundForRound()
    {
        await using var environment = await DurableEnvironment.CreateAsync(azurite);
        await environment.StartInProcessWorkerAsync("in-process");
        var plan = SmallPlan("equivalence", "fomaml", rounds: 6) with { CheckpointPeriod = 2, ValidationInterval = 3, Shards = 3 };

        var final = await RunAsync(environment, plan);

        Assert.Equal(6, final.Progress!.Round);
        Assert.True(final.Progress.Generation >= 2, $"ContinueAsNew every 2 rounds should give generation 2, got {final.Progress.Generation}.");
        using var durable = await environment.CheckpointAsync(plan.RunId, 6);
        using var reference = await environment.InProcessReferenceAsync(plan, 6);
        using var initial = await environment.InProcessReferenceAsync(plan, 0);
        var difference = DurableEnvironment.MaxDifference(durable, reference);
        var moved = DurableEnvironment.MaxDifference(initial, reference);
        output.WriteLine($"max |durable - in-process| = {difference:E2}; training moved parameters by up to {moved:E2}");
        Assert.True(moved > 1e-3, "Training should move the parameters; otherwise the comparison proves nothing.");
        Assert.True(difference <= Tolerance, $"Durable and in-process parameters differ by {difference:E2}.");
        Assert.Equal(durable.Optimizer.Step, reference.Optimizer.Step);
    }

    [Fact]
    public async Task LocalStepsOnOneShardCarryParametersAndAdamStateLikeConsecutiveInProcessSteps()
    {
        // With one shard the average of the shards is that shard's local model (parameters and Adam
        // moments), and local step l of round r samples the tasks of meta-step (r - 1)L + l + 1: so 2 rounds of
        // 3 local steps must equal 6 in-process iterations. With several shards it is local SGD (not equal).
        await using var environment = await DurableEnvironment.CreateAsync(azurite);
        await environment.StartInProcessWorkerAsync("in-process");
        var plan = SmallPlan("local", "protonet", rounds: 2) with { Shards = 1, LocalSteps = 3, ValidationInterval = 1 };

        await RunAsync(environment, plan);

        using var durable = await environment.CheckpointAsync(plan.RunId, 2);
        using var reference = await environment.InProcessReferenceAsync(plan, 6);
        Assert.Equal(6, durable.Optimizer.Step);
        Assert.True(DurableEnvironment.MaxDifference(durable, reference) <= Tolerance);

        using var twoSteps = await environment.InProcessReferenceAsync(plan, 2);
        Assert.True(DurableEnvironment.MaxDifference(durable, twoSteps) > 1e-4, "Two rounds of three local steps should have moved further than two single steps.");
    }

    [Fact]
    public async Task AWorkerKilledWithSIGKILLMidRunIsRestartedAndTheRunEndsAsAnUninterruptedOne()
    {
        await using var environment = await DurableEnvironment.CreateAsync(azurite);
        var plan = SmallPlan("crash", "protonet", rounds: 12);
        var first = await environment.StartWorkerProcessAsync("worker-a");
        var instanceId = await environment.Client.StartPretrainingAsync(plan);
        await Assert.ThrowsAsync<PretrainingRunConflictException>(() => environment.Client.StartPretrainingAsync(plan));

        // Kill it mid-run: after a few rounds, while activities are in flight.
        var deadline = DateTime.UtcNow + RunTimeout;
        PretrainingRunState? state;
        do
        {
            await Task.Delay(100);
            state = await environment.Client.GetStateAsync(instanceId);
            Assert.True(DateTime.UtcNow < deadline, $"No progress before the kill. Worker output:\n{first.Output}");
        }
        while (state?.Progress is not { Round: >= 3 });

        first.Kill();
        Assert.True(first.HasExited);
        var atKill = (await environment.Client.GetStateAsync(instanceId))!;
        output.WriteLine($"killed worker-a at round {atKill.Progress!.Round} ({atKill.RuntimeStatus})");
        Assert.False(atKill.IsTerminal);

        var second = await environment.StartWorkerProcessAsync("worker-a");
        var final = await environment.Client.WaitForCompletionAsync(instanceId, RunTimeout);
        Assert.True(final.RuntimeStatus == OrchestrationStatus.Completed, $"{final.RuntimeStatus}: {final.Failure}\nWorker output:\n{second.Output}");
        output.WriteLine(final.Outcome!.Reason);

        using var durable = await environment.CheckpointAsync(plan.RunId, plan.Rounds);
        using var reference = await environment.InProcessReferenceAsync(plan, plan.Rounds);
        var difference = DurableEnvironment.MaxDifference(durable, reference);
        output.WriteLine($"max |durable - uninterrupted in-process| = {difference:E2}");
        Assert.True(difference <= Tolerance, $"The interrupted run ended {difference:E2} away from an uninterrupted one.");

        // Served or kept by the serving rule (beat nearest centroid by more than chance); either way exactly as decided once.
        var versions = new List<Storage.MetaModelVersion>();
        await foreach (var version in environment.MetaModels.ListVersionsAsync())
        {
            versions.Add(version);
        }

        if (final.Outcome.Served)
        {
            var only = Assert.Single(versions);
            Assert.Equal(plan.RunId, only.PretrainingRunId);
            Assert.Equal(final.Outcome.Version, only.Version);
            Assert.Equal(final.Outcome.BestRound, only.Iterations);
        }
        else
        {
            Assert.Empty(versions);
            Assert.Contains("does not beat the baseline", final.Outcome.Reason, StringComparison.Ordinal);
            Assert.NotNull(await environment.Artifacts.FindAsync(plan.RunId, "model.smeta"));
        }
    }

    [Fact]
    public async Task TwoWorkerProcessesShareTheActivitiesOfOneRunAndReachTheSameResult()
    {
        await using var environment = await DurableEnvironment.CreateAsync(azurite);
        // On encoder features, so the embedding phase fans out too (several chunks of about 300 examples).
        var plan = SmallPlan("scaleout", "protonet", rounds: 8) with { Shards = 4, TextEncoder = TextFeaturesOptions.MiniLm, EmbeddingChunkSize = 300 };
        await environment.StartWorkerProcessAsync("worker-a");
        await environment.StartWorkerProcessAsync("worker-b");

        var final = await RunAsync(environment, plan);

        var workers = final.Outcome!.Workers;
        output.WriteLine(string.Join(", ", workers.Select(w => $"{w.Key}: {w.Value} activities")));
        Assert.True(workers.GetValueOrDefault("worker-a") > 0, "worker-a executed no activity.");
        Assert.True(workers.GetValueOrDefault("worker-b") > 0, "worker-b executed no activity.");
        var chunks = (await environment.Data.PlanEmbeddingAsync(plan)).Chunks;
        Assert.True(chunks >= 2, $"expected several embedding chunks, got {chunks}");
        Assert.Equal(chunks + (plan.Rounds * (plan.Shards + 1)), workers.Values.Sum());
        using var durable = await environment.CheckpointAsync(plan.RunId, plan.Rounds);
        using var reference = await environment.InProcessReferenceAsync(plan, plan.Rounds);
        Assert.True(DurableEnvironment.MaxDifference(durable, reference) <= Tolerance);
    }

    internal static PretrainingPlan SmallPlan(string name, string algorithm, int rounds) => new()
    {
        RunId = $"{name}-{Guid.NewGuid().ToString("N")[..8]}",
        Algorithm = algorithm,
        // The synthetic catalogue's words are made up: hashed n-grams suit them, and these tests are about
        // the durable mechanics. The two-worker test and EmbeddingPhaseTests run the encoder's phase.
        TextEncoder = TextFeaturesOptions.Hashed,
        Rounds = rounds,
        MetaBatchSize = 8,
        Shards = 2,
        Ways = 3,
        Shots = 2,
        QueriesPerClass = 4,
        EvaluationQueriesPerClass = 6,
        Seed = 11,
        CheckpointPeriod = 4,
        ValidationInterval = 4,
        ValidationEpisodes = 20,
        TestEpisodes = 40,
        HiddenWidth = 32,
        TextDimension = 64,
    };

    private async Task<PretrainingRunState> RunAsync(DurableEnvironment environment, PretrainingPlan plan)
    {
        var instanceId = await environment.Client.StartPretrainingAsync(plan);
        var final = await environment.Client.WaitForCompletionAsync(instanceId, RunTimeout);
        Assert.True(final.RuntimeStatus == OrchestrationStatus.Completed, $"{final.RuntimeStatus}: {final.Failure}");
        Assert.NotNull(final.Outcome);
        output.WriteLine(final.Outcome.Reason);
        return final;
    }
}
