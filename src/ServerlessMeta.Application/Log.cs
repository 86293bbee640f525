using Microsoft.Extensions.Logging;

namespace ServerlessMeta.Application;

/// <summary>Notable application events, source-generated. Event ids 7200-7299 belong to ServerlessMeta.Application.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7201, Level = LogLevel.Information, Message = "Run {RunId}: data snapshot {SnapshotId} pinned ({Train} training, {Validation} validation, {Test} test categories)")]
    public static partial void Prepared(ILogger logger, string runId, string snapshotId, int train, int validation, int test);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Information, Message = "Loaded snapshot {SnapshotId}: {Examples} examples in {Categories} categories in {Milliseconds:F0} ms")]
    public static partial void DataLoaded(ILogger logger, string snapshotId, long examples, int categories, double milliseconds);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Debug, Message = "Run {RunId} round {Round} shard {Shard}: {Tasks} tasks, meta-loss {Loss:F4}, on {Worker} in {Milliseconds:F1} ms")]
    public static partial void ShardComputed(ILogger logger, string runId, int round, int shard, int tasks, double loss, string worker, double milliseconds);

    [LoggerMessage(EventId = 7204, Level = LogLevel.Debug, Message = "Run {RunId} round {Round}: applied the sum of {Tasks} task updates (meta-loss {Loss:F4}) on {Worker}")]
    public static partial void Aggregated(ILogger logger, string runId, int round, int tasks, double loss, string worker);

    [LoggerMessage(EventId = 7205, Level = LogLevel.Information, Message = "Run {RunId} round {Round}: checkpoint {BlobName} already exists; not applying the update again")]
    public static partial void AggregateSkipped(ILogger logger, string runId, int round, string blobName);

    [LoggerMessage(EventId = 7206, Level = LogLevel.Information, Message = "Run {RunId} round {Round} {Split}: accuracy {Accuracy:F4}, loss {Loss:F4}, nearest centroid {Baseline:F4}")]
    public static partial void Evaluated(ILogger logger, string runId, int round, EvaluationSplit split, double accuracy, double loss, double baseline);

    [LoggerMessage(EventId = 7207, Level = LogLevel.Information, Message = "Run {RunId} finished (served: {Served}): {Reason}")]
    public static partial void Finished(ILogger logger, string runId, bool served, string reason);
}
