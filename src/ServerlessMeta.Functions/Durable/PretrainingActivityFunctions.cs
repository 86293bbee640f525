using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;
using ServerlessMeta.Application;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Functions.Durable;

/// <summary>
/// The activity functions: each runs the shared activity class of the same name, resolved from the
/// invocation's services. <c>instanceId</c> is bound from the activity trigger's metadata.
/// </summary>
public static class PretrainingActivityFunctions
{
    [Function(FunctionNames.PlanEmbedding)]
    public static Task<EmbeddingPlan> PlanEmbedding([ActivityTrigger] PretrainingPlan input, string instanceId, FunctionContext functionContext) =>
        RunAsync<PlanEmbeddingActivity, PretrainingPlan, EmbeddingPlan>(PlanEmbeddingActivity.Name, input, instanceId, functionContext);

    [Function(FunctionNames.EmbedChunk)]
    public static Task<EmbedChunkResult> EmbedChunk([ActivityTrigger] EmbedChunkRequest input, string instanceId, FunctionContext functionContext) =>
        RunAsync<EmbedChunkActivity, EmbedChunkRequest, EmbedChunkResult>(EmbedChunkActivity.Name, input, instanceId, functionContext);

    [Function(FunctionNames.PrepareRun)]
    public static Task<PreparedRun> PrepareRun([ActivityTrigger] PretrainingPlan input, string instanceId, FunctionContext functionContext) =>
        RunAsync<PrepareRunActivity, PretrainingPlan, PreparedRun>(PrepareRunActivity.Name, input, instanceId, functionContext);

    [Function(FunctionNames.ComputeShard)]
    public static Task<ShardResult> ComputeShard([ActivityTrigger] ShardRequest input, string instanceId, FunctionContext functionContext) =>
        RunAsync<ComputeShardActivity, ShardRequest, ShardResult>(ComputeShardActivity.Name, input, instanceId, functionContext);

    [Function(FunctionNames.AggregateRound)]
    public static Task<AggregateResult> AggregateRound([ActivityTrigger] AggregateRequest input, string instanceId, FunctionContext functionContext) =>
        RunAsync<AggregateRoundActivity, AggregateRequest, AggregateResult>(AggregateRoundActivity.Name, input, instanceId, functionContext);

    [Function(FunctionNames.ComputeRound)]
    public static Task<AggregateResult> ComputeRound([ActivityTrigger] RoundRequest input, string instanceId, FunctionContext functionContext) =>
        RunAsync<ComputeRoundActivity, RoundRequest, AggregateResult>(ComputeRoundActivity.Name, input, instanceId, functionContext);

    [Function(FunctionNames.EvaluateCheckpoint)]
    public static Task<EvaluationResult> EvaluateCheckpoint([ActivityTrigger] EvaluationRequest input, string instanceId, FunctionContext functionContext) =>
        RunAsync<EvaluateCheckpointActivity, EvaluationRequest, EvaluationResult>(EvaluateCheckpointActivity.Name, input, instanceId, functionContext);

    [Function(FunctionNames.FinishRun)]
    public static Task<PretrainingOutcome> FinishRun([ActivityTrigger] FinishRequest input, string instanceId, FunctionContext functionContext) =>
        RunAsync<FinishRunActivity, FinishRequest, PretrainingOutcome>(FinishRunActivity.Name, input, instanceId, functionContext);

    private static Task<TOutput> RunAsync<TActivity, TInput, TOutput>(string name, TInput input, string instanceId, FunctionContext functionContext)
        where TActivity : TaskActivity<TInput, TOutput>
    {
        ArgumentNullException.ThrowIfNull(functionContext);
        var activity = functionContext.InstanceServices.GetRequiredService<TActivity>();
        return activity.RunAsync(new FunctionActivityContext(name, instanceId), input);
    }
}
