using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ServerlessMeta.Application;
using CoreDataConverter = DurableTask.Core.Serializing.DataConverter;
using ShimJsonDataConverter = Microsoft.DurableTask.Converters.JsonDataConverter;

namespace ServerlessMeta.Orchestration.Local;

/// <summary>The state of a pretraining orchestration as a client sees it; <paramref name="LastUpdatedAt"/> is when the orchestration last wrote it (its progress included).</summary>
public sealed record PretrainingRunState(string InstanceId, OrchestrationStatus RuntimeStatus, PretrainingStatus? Progress, PretrainingOutcome? Outcome, string? Failure, DateTimeOffset LastUpdatedAt)
{
    public bool IsTerminal => RuntimeStatus is OrchestrationStatus.Completed or OrchestrationStatus.Failed or OrchestrationStatus.Terminated or OrchestrationStatus.Canceled;
}

/// <summary>
/// Starts and watches pretraining orchestrations on a task hub. Inputs are serialised with the
/// System.Text.Json converter the worker shims read them with.
/// </summary>
public sealed class LocalDurableClient : IPretrainingRuns
{
    private readonly TaskHubClient _client;
    private readonly ShimJsonDataConverter _json = ShimJsonDataConverter.Default;

    public LocalDurableClient(LocalEngineOptions options, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        loggers ??= NullLoggerFactory.Instance;
        Service = new AzureStorageOrchestrationService(options.ToSettings(loggers));
        _client = new TaskHubClient(Service, new StjDataConverter(_json), loggers);
    }

    public AzureStorageOrchestrationService Service { get; }

    /// <summary>Creates the task hub's queues and tables if missing.</summary>
    public Task CreateTaskHubAsync() => Service.CreateIfNotExistsAsync();

    /// <summary>
    /// Starts a run. The instance id is the run id, and starting a run whose orchestration is pending or
    /// running is refused (<see cref="DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException"/>).
    /// </summary>
    public Task<string> StartPretrainingAsync(PretrainingPlan plan) => StartAsync(plan);

    /// <inheritdoc/>
    public async Task<string> StartAsync(PretrainingPlan plan, string? instanceId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.Validate();
        try
        {
            var instance = await _client.CreateOrchestrationInstanceAsync(
                PretrainingOrchestrator.Name, string.Empty, instanceId ?? plan.RunId, new PretrainingInput(plan), null,
                [OrchestrationStatus.Pending, OrchestrationStatus.Running, OrchestrationStatus.ContinuedAsNew]).WaitAsync(cancellationToken).ConfigureAwait(false);
            return instance.InstanceId;
        }
        catch (DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException e)
        {
            throw new PretrainingRunConflictException($"Pretraining run '{instanceId ?? plan.RunId}' is already pending or running.", e);
        }
    }

    /// <inheritdoc/>
    public async Task<PretrainingRunStatus?> GetAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        // TaskHubClient takes no token: stop waiting on the caller's deadline (the client's own retry policy ends the call).
        var core = await _client.GetOrchestrationStateAsync(instanceId).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (core is null)
        {
            return null;
        }

        var state = ToRunState(core);
        var status = state.RuntimeStatus switch
        {
            OrchestrationStatus.Pending => PretrainingRunStatus.Pending,
            OrchestrationStatus.Completed => PretrainingRunStatus.Completed,
            OrchestrationStatus.Failed => PretrainingRunStatus.Failed,
            OrchestrationStatus.Terminated or OrchestrationStatus.Canceled => PretrainingRunStatus.Terminated,
            _ => PretrainingRunStatus.Running,
        };
        return new PretrainingRunStatus(
            state.InstanceId, status, state.Progress, state.Outcome, state.Failure,
            new DateTimeOffset(DateTime.SpecifyKind(core.CreatedTime, DateTimeKind.Utc)),
            state.LastUpdatedAt);
    }

    /// <inheritdoc/>
    public async Task<bool> TerminateAsync(string instanceId, string reason, CancellationToken cancellationToken = default)
    {
        var state = await _client.GetOrchestrationStateAsync(instanceId).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (state is null)
        {
            return false;
        }

        if (state.OrchestrationStatus is OrchestrationStatus.Pending or OrchestrationStatus.Running or OrchestrationStatus.ContinuedAsNew or OrchestrationStatus.Suspended)
        {
            await _client.TerminateInstanceAsync(state.OrchestrationInstance, reason).WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    public async Task<PretrainingRunState?> GetStateAsync(string instanceId)
    {
        var state = await _client.GetOrchestrationStateAsync(instanceId).ConfigureAwait(false);
        return state is null ? null : ToRunState(state);
    }

    private PretrainingRunState ToRunState(OrchestrationState state)
    {
        var progress = string.IsNullOrEmpty(state.Status) ? null : (PretrainingStatus?)_json.Deserialize(state.Status, typeof(PretrainingStatus));
        var outcome = state.OrchestrationStatus == OrchestrationStatus.Completed && !string.IsNullOrEmpty(state.Output)
            ? (PretrainingOutcome?)_json.Deserialize(state.Output, typeof(PretrainingOutcome))
            : null;
        var failure = state.OrchestrationStatus == OrchestrationStatus.Failed ? state.FailureDetails?.ToString() ?? state.Output : null;
        return new PretrainingRunState(state.OrchestrationInstance.InstanceId, state.OrchestrationStatus, progress, outcome, failure, new DateTimeOffset(DateTime.SpecifyKind(state.LastUpdatedTime, DateTimeKind.Utc)));
    }

    /// <summary>Polls every <paramref name="pollInterval"/> (default 100 ms) until the run ends or <paramref name="timeout"/> passes.</summary>
    public async Task<PretrainingRunState> WaitForCompletionAsync(string instanceId, TimeSpan timeout, TimeSpan? pollInterval = null, Action<PretrainingRunState>? progress = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var state = await GetStateAsync(instanceId).ConfigureAwait(false);
            if (state is not null)
            {
                progress?.Invoke(state);
                if (state.IsTerminal)
                {
                    return state;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Orchestration {instanceId} did not finish within {timeout} (last status: {state?.RuntimeStatus.ToString() ?? "not found"}, round {state?.Progress?.Round}).");
            }

            await Task.Delay(pollInterval ?? TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes the task hub's queues, tables and blobs.</summary>
    public Task DeleteTaskHubAsync() => Service.DeleteAsync();

    private sealed class StjDataConverter(ShimJsonDataConverter json) : CoreDataConverter
    {
        public override string Serialize(object value) => json.Serialize(value)!;

        public override string Serialize(object value, bool formatted) => json.Serialize(value)!;

        public override object Deserialize(string data, Type objectType) => json.Deserialize(data, objectType)!;
    }
}
