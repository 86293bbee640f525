using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Functions;

/// <summary>
/// The names the Functions host knows the timer and durable functions by (the HTTP functions take theirs from
/// <see cref="Api.ApiRouteNames"/>). The durable ones must equal the orchestrator and activity names, because the
/// orchestrator calls activities by those names.
/// </summary>
public static class FunctionNames
{
    public const string RetrainingTimer = "RetrainingTimer";

    public const string PretrainingOrchestrator = Orchestration.PretrainingOrchestrator.Name;
    public const string PlanEmbedding = PlanEmbeddingActivity.Name;
    public const string EmbedChunk = EmbedChunkActivity.Name;
    public const string PrepareRun = PrepareRunActivity.Name;
    public const string ComputeShard = ComputeShardActivity.Name;
    public const string AggregateRound = AggregateRoundActivity.Name;
    public const string ComputeRound = ComputeRoundActivity.Name;
    public const string EvaluateCheckpoint = EvaluateCheckpointActivity.Name;
    public const string FinishRun = FinishRunActivity.Name;
}
