using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessMeta.Application;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Orchestration;

/// <summary>What the scheduled retraining uses: its plan template (the run id is set per run).</summary>
public sealed class RetrainingOptions
{
    /// <summary>Configuration section bound to these options (e.g. <c>SMETA_RETRAINING__Rounds</c>).</summary>
    public const string SectionName = "SMETA_RETRAINING";

    /// <summary>App setting holding the NCRONTAB schedule (six fields, seconds first) of the timer.</summary>
    public const string ScheduleSetting = "RETRAIN_SCHEDULE";

    /// <summary>Daily at 03:00 UTC.</summary>
    public const string DefaultSchedule = "0 0 3 * * *";

    /// <summary>The singleton instance id of scheduled runs: at most one is pending or running.</summary>
    public const string InstanceId = "smeta-retraining";

    public string Algorithm { get; set; } = "protonet";

    public int Rounds { get; set; } = 300;

    public int MetaBatchSize { get; set; } = 32;

    public int Ways { get; set; } = 5;

    public int Shots { get; set; } = 5;

    /// <summary>Shards per round; unset: <c>SMETA_PRETRAINING__INSTANCES</c> (default: the cores the host can see), at most the meta-batch.</summary>
    public int? Shards { get; set; }

    public int LocalSteps { get; set; } = 1;
}

/// <summary>Whether a scheduled tick started a run, and why (not).</summary>
public sealed record RetrainingDecision(bool Started, string? InstanceId, string? RunId, string Reason);

/// <summary>
/// The timer's logic, shared by the Functions timer and the local host's schedule: start pretraining only
/// when the data changed since the newest meta-model (and since the last scheduled run, which may have
/// produced no meta-model because it did not beat the baseline) and no scheduled run is in progress.
/// </summary>
public sealed partial class RetrainingScheduler(DatasetStore datasets, MetaModelRegistry metaModels, TextEncoders encoders, IOptions<RetrainingOptions> options, IOptions<PretrainingServiceOptions> pretraining, ILogger<RetrainingScheduler> logger)
{
    public async Task<RetrainingDecision> RunAsync(IPretrainingRuns runs, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var decision = await DecideAsync(runs, now, cancellationToken).ConfigureAwait(false);
        if (decision.Started)
        {
            LogStarted(logger, decision.InstanceId!, decision.RunId!, decision.Reason);
        }
        else
        {
            LogSkipped(logger, decision.Reason);
        }

        return decision;
    }

    private async Task<RetrainingDecision> DecideAsync(IPretrainingRuns runs, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var current = await runs.GetAsync(RetrainingOptions.InstanceId, cancellationToken).ConfigureAwait(false);
        if (current is { IsActive: true })
        {
            return new RetrainingDecision(false, current.InstanceId, null, $"a scheduled run is still {current.RuntimeStatus.ToLowerInvariant()} (instance {current.InstanceId}, round {current.Progress?.Round ?? 0}).");
        }

        var snapshot = await datasets.TakeSnapshotAsync(cancellationToken).ConfigureAwait(false);
        if (snapshot.Categories.Count == 0)
        {
            return new RetrainingDecision(false, null, null, "no category has data yet.");
        }

        if (current is { RuntimeStatus: PretrainingRunStatus.Completed, Output: { } last } && string.Equals(last.DataSnapshotId, snapshot.Id, StringComparison.OrdinalIgnoreCase))
        {
            return new RetrainingDecision(false, null, null, $"the data has not changed since the last scheduled run {last.RunId} ({(last.Served ? "served" : "not served")}: {last.Reason})");
        }

        string reason;
        try
        {
            var newest = await metaModels.GetLatestVersionAsync(cancellationToken).ConfigureAwait(false);
            if (string.Equals(newest.DataSnapshotId, snapshot.Id, StringComparison.OrdinalIgnoreCase))
            {
                return new RetrainingDecision(false, null, null, string.Create(CultureInfo.InvariantCulture, $"the data has not changed since meta-model version {newest.Version} (snapshot {Short(snapshot.Id)})."));
            }

            reason = string.Create(CultureInfo.InvariantCulture, $"the data changed since meta-model version {newest.Version} ({snapshot.Categories.Count} categories, {snapshot.ExampleCount} examples).");
        }
        catch (ModelVersionNotFoundException)
        {
            reason = current is { Output: { } previous }
                ? string.Create(CultureInfo.InvariantCulture, $"the data changed since the last scheduled run {previous.RunId}, and no meta-model is registered yet ({snapshot.Categories.Count} categories, {snapshot.ExampleCount} examples).")
                : string.Create(CultureInfo.InvariantCulture, $"there is no meta-model yet ({snapshot.Categories.Count} categories, {snapshot.ExampleCount} examples).");
        }

        var o = options.Value;
        var plan = new PretrainingPlan
        {
            RunId = string.Create(CultureInfo.InvariantCulture, $"retrain-{now.UtcDateTime:yyyyMMdd-HHmmss}"),
            Algorithm = o.Algorithm,
            Rounds = o.Rounds,
            MetaBatchSize = o.MetaBatchSize,
            Ways = o.Ways,
            Shots = o.Shots,
            Shards = o.Shards ?? pretraining.Value.DefaultShards(o.MetaBatchSize),
            LocalSteps = o.LocalSteps,
            DataSnapshotId = snapshot.Id,
            TextEncoder = encoders.DefaultName,
        };
        try
        {
            var instance = await runs.StartAsync(plan, RetrainingOptions.InstanceId, cancellationToken).ConfigureAwait(false);
            return new RetrainingDecision(true, instance, plan.RunId, reason);
        }
        catch (PretrainingRunConflictException e)
        {
            return new RetrainingDecision(false, RetrainingOptions.InstanceId, null, e.Message);
        }
    }

    private static string Short(string id) => id.Length > 12 ? id[..12] : id;

    [LoggerMessage(EventId = 7311, Level = LogLevel.Information, Message = "Scheduled retraining started instance {InstanceId} (run {RunId}): {Reason}")]
    private static partial void LogStarted(ILogger logger, string instanceId, string runId, string reason);

    [LoggerMessage(EventId = 7312, Level = LogLevel.Information, Message = "Scheduled retraining skipped: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string reason);
}
