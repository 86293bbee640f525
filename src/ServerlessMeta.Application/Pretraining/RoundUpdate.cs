using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Application.Pretraining;

/// <summary>
/// How a round turns the tasks of its shards into the next checkpoint: what a shard computes and stores,
/// how its counts are read back, and how the shards' artifacts are combined. Chosen once per plan by
/// <see cref="For"/>; the round steps never branch on <see cref="PretrainingPlan.LocalSteps"/> themselves.
/// </summary>
internal abstract class RoundUpdate(PretrainingPlan plan)
{
    protected PretrainingPlan Plan { get; } = plan;

    /// <summary>
    /// <see cref="MetaGradientUpdate"/> for one local step (exact synchronous meta-SGD), otherwise
    /// <see cref="LocalSgdUpdate"/> (each shard trains locally, the aggregate averages).
    /// </summary>
    public static RoundUpdate For(PretrainingPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return plan.LocalSteps == 1 ? new MetaGradientUpdate(plan) : new LocalSgdUpdate(plan);
    }

    /// <summary>
    /// A shard's work in <paramref name="round"/>: the tasks <paramref name="first"/> to
    /// <paramref name="first"/> + <paramref name="count"/> − 1 of the round's meta-batch from
    /// <paramref name="start"/>, written to <paramref name="destination"/> as the shard's artifact. Returns
    /// the mean meta-loss (the caller checks it is finite).
    /// </summary>
    public abstract double WriteShard(MetaModel start, ITaskSource sampler, int round, int first, int count, Stream destination);

    /// <summary>The task count and meta-loss sum of a stored shard artifact.</summary>
    public abstract (int TaskCount, double LossSum) ReadCounts(BinaryData shard);

    /// <summary>
    /// A whole round in one step, on the whole meta-batch: the next model (the caller disposes it; never
    /// <paramref name="start"/>) and the mean meta-loss. The same numbers as one shard followed by <see cref="Aggregate"/>.
    /// </summary>
    public abstract (MetaModel Next, double MeanLoss) Advance(MetaModel start, ITaskSource sampler, int round);

    /// <summary>
    /// Turns <paramref name="next"/>, a copy of the round's starting checkpoint, into the round's result from
    /// the shards' artifacts (in shard order, with their task counts).
    /// </summary>
    public abstract void Aggregate(MetaModel next, IReadOnlyList<BinaryData> shards, IReadOnlyList<int> taskCounts);
}
