using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Functions.Timers;

/// <summary>
/// Scheduled retraining, on the NCRONTAB schedule of app setting <see cref="RetrainingOptions.ScheduleSetting"/>
/// (<see cref="RetrainingOptions.DefaultSchedule"/>, daily, in the samples and the deployment). It starts
/// pretraining only when the data changed since the newest meta-model and no scheduled run is in progress
/// (singleton instance <see cref="RetrainingOptions.InstanceId"/>); <see cref="RetrainingScheduler"/> logs
/// why it skipped otherwise.
/// </summary>
public sealed class RetrainingTimerFunction(RetrainingScheduler scheduler, TimeProvider clock, ILogger<RetrainingTimerFunction> logger)
{
    /// <summary>The trigger's schedule expression: the app setting's value.</summary>
    public const string Schedule = "%" + RetrainingOptions.ScheduleSetting + "%";

    [Function(FunctionNames.RetrainingTimer)]
    public async Task Run(
        [TimerTrigger(Schedule)] TimerInfo timer,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        Log.RetrainingTimerFired(logger, timer.IsPastDue, timer.ScheduleStatus?.Next);
        await scheduler.RunAsync(new DurableTaskClientRuns(client), clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }
}
