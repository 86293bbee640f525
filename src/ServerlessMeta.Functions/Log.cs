using Microsoft.Extensions.Logging;

namespace ServerlessMeta.Functions;

/// <summary>Notable events of the Functions app, source-generated. Event ids 7500-7599 belong to ServerlessMeta.Functions.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7501, Level = LogLevel.Information, Message = "Retraining timer fired (past due: {IsPastDue}); next occurrence {Next}")]
    public static partial void RetrainingTimerFired(ILogger logger, bool isPastDue, DateTime? next);
}
