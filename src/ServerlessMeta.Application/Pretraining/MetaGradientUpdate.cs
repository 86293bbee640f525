using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Learning.Training;

namespace ServerlessMeta.Application.Pretraining;

/// <summary>
/// Exact synchronous meta-SGD (<see cref="PretrainingPlan.LocalSteps"/> = 1): a shard stores the summed
/// meta-update of its tasks at the round's checkpoint, and the aggregate applies the sum of all shards'
/// updates as one outer step, equal to the in-process loop.
/// </summary>
internal sealed class MetaGradientUpdate(PretrainingPlan plan) : RoundUpdate(plan)
{
    public override double WriteShard(MetaModel start, ITaskSource sampler, int round, int first, int count, Stream destination)
    {
        var update = Compute(start, sampler, round, first, count);
        update.WriteTo(destination);
        return update.MeanLoss;
    }

    public override (int TaskCount, double LossSum) ReadCounts(BinaryData shard)
    {
        var update = MetaUpdate.ReadFrom(shard.ToStream());
        return (update.TaskCount, update.LossSum);
    }

    public override (MetaModel Next, double MeanLoss) Advance(MetaModel start, ITaskSource sampler, int round)
    {
        var update = Compute(start, sampler, round, 0, Plan.MetaBatchSize);
        var next = start.Clone();
        next.ApplyUpdate(update);
        return (next, update.MeanLoss);
    }

    public override void Aggregate(MetaModel next, IReadOnlyList<BinaryData> shards, IReadOnlyList<int> taskCounts)
    {
        next.ApplyUpdate(MetaUpdate.Sum(shards.Select(b => MetaUpdate.ReadFrom(b.ToStream()))));
    }

    private MetaUpdate Compute(MetaModel start, ITaskSource sampler, int round, int first, int count) =>
        start.ComputeUpdate(TaskSampling.SampleRound(sampler, Plan.Seed, round, first, count), Plan.ThreadsPerShard);
}
