using ServerlessMeta.Application;

namespace ServerlessMeta.Orchestration;

/// <summary>
/// Starts, watches and terminates pretraining orchestrations, whatever engine runs them: the Functions
/// host's <see cref="Microsoft.DurableTask.Client.DurableTaskClient"/> (<see cref="DurableTaskClientRuns"/>)
/// or the local DurableTask.Core engine.
/// </summary>
public interface IPretrainingRuns
{
    /// <summary>
    /// Starts <see cref="PretrainingOrchestrator"/> for <paramref name="plan"/> as instance
    /// <paramref name="instanceId"/> (default: the plan's run id). Throws
    /// <see cref="PretrainingRunConflictException"/> when that instance is pending or running.
    /// </summary>
    Task<string> StartAsync(PretrainingPlan plan, string? instanceId = null, CancellationToken cancellationToken = default);

    /// <summary>The instance's status, or null when no such instance exists.</summary>
    Task<PretrainingRunStatus?> GetAsync(string instanceId, CancellationToken cancellationToken = default);

    /// <summary>Terminates a pending or running instance; false when no such instance exists.</summary>
    Task<bool> TerminateAsync(string instanceId, string reason, CancellationToken cancellationToken = default);
}

/// <summary>Where a pretraining orchestration is, as HTTP callers see it.</summary>
/// <param name="InstanceId">The orchestration instance.</param>
/// <param name="RuntimeStatus">Pending, Running, Completed, Failed or Terminated.</param>
/// <param name="Progress">The orchestration's custom status (round, meta-loss, held-out metric, ETA).</param>
/// <param name="Output">The run's outcome once completed.</param>
/// <param name="Failure">Why it failed, when it did.</param>
/// <param name="CreatedAt">When the instance was created.</param>
/// <param name="LastUpdatedAt">When its state last changed.</param>
public sealed record PretrainingRunStatus(
    string InstanceId,
    string RuntimeStatus,
    PretrainingStatus? Progress,
    PretrainingOutcome? Output,
    string? Failure,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? LastUpdatedAt)
{
    public const string Pending = "Pending";
    public const string Running = "Running";
    public const string Completed = "Completed";
    public const string Failed = "Failed";
    public const string Terminated = "Terminated";

    /// <summary>True while the run may still make progress.</summary>
    public bool IsActive => RuntimeStatus is Pending or Running;
}

/// <summary>A pretraining instance with that id is already pending or running.</summary>
public sealed class PretrainingRunConflictException : Exception
{
    public PretrainingRunConflictException()
    {
    }

    public PretrainingRunConflictException(string message)
        : base(message)
    {
    }

    public PretrainingRunConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
