using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using ServerlessMeta.Application;

namespace ServerlessMeta.Orchestration;

/// <summary><see cref="IPretrainingRuns"/> over a <see cref="DurableTaskClient"/> (the Functions host's durable client).</summary>
public sealed class DurableTaskClientRuns(DurableTaskClient client) : IPretrainingRuns
{
    public async Task<string> StartAsync(PretrainingPlan plan, string? instanceId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        plan.Validate();
        instanceId ??= plan.RunId;
        var existing = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (existing is not null && PretrainingRunStates.Map(existing.RuntimeStatus) is PretrainingRunStatus.Pending or PretrainingRunStatus.Running)
        {
            throw new PretrainingRunConflictException($"Pretraining run '{instanceId}' is already {existing.RuntimeStatus}.");
        }

        return await client.ScheduleNewOrchestrationInstanceAsync(
            PretrainingOrchestrator.Name, new PretrainingInput(plan), new StartOrchestrationOptions(instanceId), cancellationToken).ConfigureAwait(false);
    }

    public async Task<PretrainingRunStatus?> GetAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var metadata = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        if (metadata is null)
        {
            return null;
        }

        var status = PretrainingRunStates.Map(metadata.RuntimeStatus);
        return new PretrainingRunStatus(
            metadata.InstanceId,
            status,
            string.IsNullOrEmpty(metadata.SerializedCustomStatus) ? null : metadata.ReadCustomStatusAs<PretrainingStatus>(),
            status == PretrainingRunStatus.Completed && !string.IsNullOrEmpty(metadata.SerializedOutput) ? metadata.ReadOutputAs<PretrainingOutcome>() : null,
            status == PretrainingRunStatus.Failed ? metadata.FailureDetails?.ErrorMessage ?? metadata.SerializedOutput : null,
            metadata.CreatedAt,
            metadata.LastUpdatedAt);
    }

    public async Task<bool> TerminateAsync(string instanceId, string reason, CancellationToken cancellationToken = default)
    {
        var metadata = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (metadata is null)
        {
            return false;
        }

        if (PretrainingRunStates.Map(metadata.RuntimeStatus) is PretrainingRunStatus.Pending or PretrainingRunStatus.Running)
        {
            await client.TerminateInstanceAsync(instanceId, new TerminateInstanceOptions { Output = reason }, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }
}

/// <summary>Maps engine runtime statuses onto the five the API reports.</summary>
public static class PretrainingRunStates
{
    public static string Map(OrchestrationRuntimeStatus status) => status switch
    {
        OrchestrationRuntimeStatus.Pending => PretrainingRunStatus.Pending,
        OrchestrationRuntimeStatus.Completed => PretrainingRunStatus.Completed,
        OrchestrationRuntimeStatus.Failed => PretrainingRunStatus.Failed,
        OrchestrationRuntimeStatus.Terminated => PretrainingRunStatus.Terminated,
        _ => PretrainingRunStatus.Running,
    };
}
