using ServerlessMeta.Application;

namespace ServerlessMeta.Orchestration;

/// <summary>The pretraining orchestration's input: the plan, and after ContinueAsNew the state carried over.</summary>
public sealed record PretrainingInput(PretrainingPlan Plan, PretrainingState? State = null);

/// <summary>
/// What one orchestration generation hands to the next: references to checkpoints (blob name + ETag),
/// never weights.
/// </summary>
public sealed record PretrainingState(
    PreparedRun Prepared,
    CheckpointRef Checkpoint,
    CheckpointRef Best,
    double? BestValidationAccuracy,
    double? LastValidationAccuracy,
    double? LastValidationLoss,
    double? MetaLossAverage,
    DateTime StartedAt,
    int Generation,
    IReadOnlyDictionary<string, int> Workers);

/// <summary>The custom status: progress a caller can poll.</summary>
/// <param name="Phase">embedding, preparing, training, finishing or completed.</param>
/// <param name="Round">Rounds applied so far.</param>
/// <param name="Rounds">Rounds planned.</param>
/// <param name="MetaLossAverage">Exponential moving average (factor 0.1) of the rounds' mean meta-loss.</param>
/// <param name="HeldOutAccuracy">The latest validation accuracy (held-out categories).</param>
/// <param name="HeldOutLoss">The latest validation query loss after adaptation.</param>
/// <param name="BestRound">The round with the best validation accuracy so far.</param>
/// <param name="BestHeldOutAccuracy">Its accuracy.</param>
/// <param name="SecondsPerRound">Orchestration time per round since the start (from the orchestration clock).</param>
/// <param name="Eta">Estimated completion time (UTC), from the rounds so far.</param>
/// <param name="Generation">ContinueAsNew generation.</param>
public sealed record PretrainingStatus(
    string Phase,
    int Round,
    int Rounds,
    double? MetaLossAverage,
    double? HeldOutAccuracy,
    double? HeldOutLoss,
    int BestRound,
    double? BestHeldOutAccuracy,
    double? SecondsPerRound,
    DateTime? Eta,
    int Generation);
