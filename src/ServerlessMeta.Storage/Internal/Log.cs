using Microsoft.Extensions.Logging;

namespace ServerlessMeta.Storage.Internal;

/// <summary>Notable storage events, source-generated. Event ids 7100-7199 belong to ServerlessMeta.Storage.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning,
        Message = "{Series}: version {RequestedVersion} failed verification ({Reason}); serving version {ServedVersion} instead")]
    public static partial void FellBack(this ILogger logger, string series, int requestedVersion, string reason, int servedVersion);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Error,
        Message = "{Series}: version {Version} failed verification: {Reason}")]
    public static partial void VerificationFailed(this ILogger logger, string series, int version, string reason);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Information,
        Message = "Deleted orphan blob {BlobName} (no metadata row; last modified {LastModified:o})")]
    public static partial void OrphanDeleted(this ILogger logger, string blobName, DateTimeOffset lastModified);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Information,
        Message = "Orphan cleanup scanned {BlobsScanned} blobs, deleted {Deleted}, kept {Young} within the grace period, repaired {Repaired} categories")]
    public static partial void OrphanCleanupCompleted(this ILogger logger, int blobsScanned, int deleted, int young, int repaired);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Warning,
        Message = "{Series}: version {Version} was abandoned by orphan cleanup before its row was written; the write failed")]
    public static partial void VersionAbandoned(this ILogger logger, string series, int version);

    [LoggerMessage(EventId = 7106, Level = LogLevel.Warning,
        Message = "Dataset of category {CategoryId}: part {Part} has bytes past its committed length {CommittedLength} that nobody committed; rolled to part {NewPart}")]
    public static partial void DatasetPartRolled(this ILogger logger, string categoryId, int part, long committedLength, int newPart);

    [LoggerMessage(EventId = 7107, Level = LogLevel.Information,
        Message = "Category {CategoryId}: latest/serving pointers moved forward to {LatestVersion}/{ServingVersion} after an interrupted write")]
    public static partial void PointersRepaired(this ILogger logger, string categoryId, int? latestVersion, int? servingVersion);

    // 7108 was "checkpoint failed verification", retired with MetaModelRegistry's checkpoint API: not reused.

    [LoggerMessage(EventId = 7109, Level = LogLevel.Warning,
        Message = "Category {CategoryId}: a create started at {StartedAt:o} never finished (no examples, no version); a new create took it over")]
    public static partial void AbandonedCreateTakenOver(this ILogger logger, string categoryId, DateTimeOffset startedAt);
}
