using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ServerlessMeta.Orchestration.Tests.Infrastructure;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Orchestration.Tests;

/// <summary>The timer's decision on the real engine: start only on changed data and never beside a running scheduled run.</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class RetrainingSchedulerTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task RetrainsOncePerDataChangeAndNeverBesideARunningScheduledRun()
    {
        await using var environment = await DurableEnvironment.CreateAsync(azurite);
        var scheduler = new RetrainingScheduler(
            environment.Services.GetRequiredService<DatasetStore>(),
            environment.MetaModels,
            environment.Services.GetRequiredService<ServerlessMeta.Application.TextEncoders>(),
            Options.Create(new RetrainingOptions { Algorithm = "protonet", Rounds = 2, MetaBatchSize = 4, Ways = 3, Shots = 2 }),
            Options.Create(new ServerlessMeta.Application.PretrainingServiceOptions { Instances = 2 }),
            NullLogger<RetrainingScheduler>.Instance);
        var now = new DateTimeOffset(2026, 11, 29, 3, 0, 0, TimeSpan.Zero);

        // No worker yet: the first tick starts the singleton run, which stays pending.
        var first = await scheduler.RunAsync(environment.Client, now);
        Assert.True(first.Started, first.Reason);
        Assert.Equal(RetrainingOptions.InstanceId, first.InstanceId);
        Assert.Contains("no meta-model yet", first.Reason, StringComparison.Ordinal);

        var beside = await scheduler.RunAsync(environment.Client, now.AddDays(1));
        Assert.False(beside.Started);
        Assert.Contains("still pending", beside.Reason, StringComparison.Ordinal);

        await environment.StartInProcessWorkerAsync("scheduler-test");
        var done = await environment.Client.WaitForCompletionAsync(RetrainingOptions.InstanceId, TimeSpan.FromMinutes(3));
        Assert.Equal(DurableTask.Core.OrchestrationStatus.Completed, done.RuntimeStatus);
        Assert.Equal(first.RunId, done.Outcome!.RunId);

        // Same data: nothing to do, whether or not that run's meta-model beat the baseline.
        var unchanged = await scheduler.RunAsync(environment.Client, now.AddDays(2));
        Assert.False(unchanged.Started);
        Assert.Contains("has not changed", unchanged.Reason, StringComparison.Ordinal);

        // New data: the next tick retrains, as a new run of the same singleton instance.
        await environment.Services.GetRequiredService<DatasetStore>().AppendExamplesAsync("cat-000", [new StoredExample(null, "a new labelled item", "fresh")]);
        var changed = await scheduler.RunAsync(environment.Client, now.AddDays(3));
        Assert.True(changed.Started, changed.Reason);
        Assert.NotEqual(first.RunId, changed.RunId);
        Assert.Contains("changed", changed.Reason, StringComparison.Ordinal);
    }
}
