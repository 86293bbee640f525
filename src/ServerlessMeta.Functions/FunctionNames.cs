using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Functions;

/// <summary>
/// The names the Functions host knows the functions by (portal, logs, keys). The durable ones must equal
/// the orchestrator and activity names, because the orchestrator calls activities by those names.
/// </summary>
public static class FunctionNames
{
    public const string CreateCategory = "CreateCategory";
    public const string ListCategories = "ListCategories";
    public const string GetCategory = "GetCategory";
    public const string Predict = "Predict";
    public const string Feedback = "Feedback";
    public const string AddExamples = "AddExamples";
    public const string ListVersions = "ListVersions";
    public const string DownloadModel = "DownloadModel";
    public const string PromoteVersion = "PromoteVersion";

    public const string StartPretraining = "StartPretraining";
    public const string GetPretraining = "GetPretraining";
    public const string TerminatePretraining = "TerminatePretraining";

    public const string ListMetaModels = "ListMetaModels";

    public const string Health = "Health";

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
