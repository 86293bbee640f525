using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Worker.Shims;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Orchestration.Local;

/// <summary>
/// A Durable Task worker without the Functions host: a DurableTask.Core <see cref="TaskHubWorker"/> over
/// <see cref="AzureStorageOrchestrationService"/> that runs the class-based orchestrators and activities
/// of <see cref="PretrainingTasks"/> through <see cref="DurableTaskShimFactory"/>. Activities are created
/// from the service provider per execution (they are thin wrappers over singleton services).
/// </summary>
public sealed partial class LocalDurableWorker : IAsyncDisposable
{
    private readonly TaskHubWorker _worker;
    private readonly ILogger _logger;
    private bool _stopped;

    private LocalDurableWorker(TaskHubWorker worker, AzureStorageOrchestrationService service, ILogger logger)
    {
        _worker = worker;
        Service = service;
        _logger = logger;
    }

    public AzureStorageOrchestrationService Service { get; }

    /// <summary>Starts a worker with an orchestration service of its own (a worker process without a client).</summary>
    public static Task<LocalDurableWorker> StartAsync(LocalEngineOptions options, IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        var loggers = services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
        return StartAsync(new AzureStorageOrchestrationService(options.ToSettings(loggers)), services, loggers, cancellationToken);
    }

    /// <summary>
    /// Starts a worker in the client's process on the client's orchestration service. Messages the client
    /// sends (a run's start, a termination) then wake the worker's queue pollers at once instead of
    /// waiting for their next poll, as the worker's own messages between activities and orchestrator do.
    /// </summary>
    public static Task<LocalDurableWorker> StartAsync(LocalDurableClient client, IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(services);
        return StartAsync(client.Service, services, services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance, cancellationToken);
    }

    private static async Task<LocalDurableWorker> StartAsync(AzureStorageOrchestrationService service, IServiceProvider services, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        await service.CreateIfNotExistsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        var worker = new TaskHubWorker(service, loggers);
        worker.AddTaskOrchestrations([.. PretrainingTasks.Orchestrators.Select(o => (ObjectCreator<TaskOrchestration>)new ShimCreator<TaskOrchestration>(o.Name, () =>
            new DurableTaskShimFactory(null, loggers).CreateOrchestration(new TaskName(o.Name), (ITaskOrchestrator)ActivatorUtilities.CreateInstance(services, o.Type))))]);
        worker.AddTaskActivities([.. PretrainingTasks.Activities.Select(a => (ObjectCreator<TaskActivity>)new ShimCreator<TaskActivity>(a.Name, () =>
            new DurableTaskShimFactory(null, loggers).CreateActivity(new TaskName(a.Name), (ITaskActivity)ActivatorUtilities.CreateInstance(services, a.Type))))]);
        await worker.StartAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        return new LocalDurableWorker(worker, service, loggers.CreateLogger<LocalDurableWorker>());
    }

    /// <summary>Stops taking work and waits for work items in progress.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            try
            {
                await _worker.StopAsync(isForced: false).ConfigureAwait(false);
            }
            catch (Exception e) when (StorageFaults.IsUnavailable(e) || e is AggregateException or InvalidOperationException)
            {
                // Storage failed under the worker earlier (an outage it has since recovered from, or not): the provider
                // rethrows that on stop. Work items in flight are re-delivered after their visibility timeout anyway.
                LogStopFailed(_logger, e);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _worker.Dispose();
    }

    [LoggerMessage(EventId = 7451, Level = LogLevel.Warning, Message = "The Durable Task worker reported a storage failure while stopping; in-flight work items are re-delivered after their visibility timeout")]
    private static partial void LogStopFailed(ILogger logger, Exception exception);

    /// <summary>A new shim around a new class-based task for every execution (shims are not reusable).</summary>
    private sealed class ShimCreator<T> : ObjectCreator<T>
    {
        private readonly Func<T> _create;

        public ShimCreator(string name, Func<T> create)
        {
            Name = name;
            Version = string.Empty;
            _create = create;
        }

        public override T Create() => _create();
    }
}
