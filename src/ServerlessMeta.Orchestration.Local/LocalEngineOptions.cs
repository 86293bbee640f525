using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using DurableTask.AzureStorage;
using ServerlessMeta.Storage;
using Microsoft.Extensions.Logging;

namespace ServerlessMeta.Orchestration.Local;

/// <summary>
/// Settings of the local Durable Task engine (DurableTask.AzureStorage, the provider Durable Functions
/// uses in Azure), tuned for one machine and Azurite. See docs/durable.md for why each value.
/// </summary>
public sealed class LocalEngineOptions
{
    /// <summary>Storage connection string (Azurite locally) for the task hub's queues, tables and blobs.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>Task hub name (3-45 letters and digits): workers and clients of one hub share its queues.</summary>
    public string TaskHubName { get; init; } = "smetapretraining";

    /// <summary>
    /// Identity for partition leases. A restarted worker with the same id takes its leases back at once;
    /// another id waits for them to expire.
    /// </summary>
    public string WorkerId { get; init; } = Environment.MachineName;

    /// <summary>Control-queue partitions: 1 is enough for one run (activities are shared by all workers anyway).</summary>
    public int PartitionCount { get; init; } = 1;

    /// <summary>
    /// Longest wait between polls of an idle queue. An idle queue waits a tenth of its idle time between
    /// polls, up to this; a message sent from this process (an activity's result, a co-hosted client's
    /// start) wakes the poller at once. The provider's default of 30 s makes a message from another
    /// process wait up to 30 s after a quiet spell; 100 ms polled so often that Azurite and the pollers
    /// took a fifth of the two cores' time from the activities. See docs/durable.md.
    /// </summary>
    public TimeSpan MaxQueuePollingInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a dequeued message stays invisible: after a worker dies (SIGKILL), its in-flight
    /// work items reappear after this long. The provider's default is 5 minutes.
    /// </summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Activities run at once in this process: one per core (each task is single-threaded).</summary>
    public int MaxConcurrentActivities { get; init; } = Environment.ProcessorCount;

    public int MaxConcurrentOrchestrations { get; init; } = 4;

    /// <summary>
    /// Network timeout and retry budget of the provider's blob, queue and table clients (the same policy as
    /// ServerlessMeta's own storage clients), so a client call on a hung storage service fails in bounded time.
    /// </summary>
    public StorageOptions StoragePolicy { get; init; } = new();

    internal AzureStorageOrchestrationServiceSettings ToSettings(ILoggerFactory loggers) => new()
    {
        StorageAccountClientProvider = new StorageAccountClientProvider(
            StorageServiceClientProvider.ForBlob(ConnectionString, StoragePolicy.ApplyTo(new BlobClientOptions())),
            StorageServiceClientProvider.ForQueue(ConnectionString, StoragePolicy.ApplyTo(new QueueClientOptions())),
            StorageServiceClientProvider.ForTable(ConnectionString, StoragePolicy.ApplyTo(new TableClientOptions()))),
        TaskHubName = TaskHubName,
        WorkerId = WorkerId,
        PartitionCount = PartitionCount,
        MaxQueuePollingInterval = MaxQueuePollingInterval,
        WorkItemQueueVisibilityTimeout = VisibilityTimeout,
        ControlQueueVisibilityTimeout = VisibilityTimeout,
        MaxConcurrentTaskActivityWorkItems = MaxConcurrentActivities,
        MaxConcurrentTaskOrchestrationWorkItems = MaxConcurrentOrchestrations,
        LoggerFactory = loggers,

        // Starting a run whose orchestration is pending or running fails instead of being silently ignored.
        ThrowExceptionOnInvalidDedupeStatus = true,
    };
}
