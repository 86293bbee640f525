using Cronos;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.LocalHost;

/// <summary>A six-field NCRONTAB schedule (seconds first), as the Functions timer trigger reads <c>%RETRAIN_SCHEDULE%</c>.</summary>
internal sealed class RetrainingSchedule(string expression)
{
    public CronExpression Expression { get; } = CronExpression.Parse(expression, CronFormat.IncludeSeconds);

    public string Text { get; } = expression;
}

/// <summary>The local host's counterpart of the Functions timer: on each occurrence, asks <see cref="RetrainingScheduler"/> to retrain if needed.</summary>
internal sealed partial class RetrainingTimer(RetrainingSchedule schedule, RetrainingScheduler scheduler, IPretrainingRuns runs, TimeProvider time, ILogger<RetrainingTimer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            var next = schedule.Expression.GetNextOccurrence(now.UtcDateTime, TimeZoneInfo.Utc);
            if (next is null)
            {
                return;
            }

            LogNext(logger, schedule.Text, next.Value);
            try
            {
                await Task.Delay(next.Value - now.UtcDateTime, time, stoppingToken).ConfigureAwait(false);
                await scheduler.RunAsync(runs, time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogFailed(logger, e);
            }
        }
    }

    [LoggerMessage(EventId = 7401, Level = LogLevel.Debug, Message = "Retraining schedule {Schedule}: next check at {Next:o}")]
    private static partial void LogNext(ILogger logger, string schedule, DateTime next);

    [LoggerMessage(EventId = 7402, Level = LogLevel.Error, Message = "Scheduled retraining check failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
