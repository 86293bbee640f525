using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using ServerlessMeta.Application;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Functions.Durable;

/// <summary>
/// The orchestrator function: runs the shared class-based <see cref="PretrainingOrchestrator"/> (the source
/// generator that would register it is not available, so this wrapper does it by hand).
/// </summary>
public sealed class PretrainingOrchestratorFunction(PretrainingOrchestrator orchestrator)
{
    [Function(FunctionNames.PretrainingOrchestrator)]
    public Task<PretrainingOutcome?> Run([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return orchestrator.RunAsync(context, context.GetInput<PretrainingInput>()!);
    }
}
