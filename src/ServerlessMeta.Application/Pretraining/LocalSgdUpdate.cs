using System.Globalization;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Serialization;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Learning.Training;

namespace ServerlessMeta.Application.Pretraining;

/// <summary>
/// Local SGD (<see cref="PretrainingPlan.LocalSteps"/> &gt; 1): a shard takes that many Adam steps on its own
/// tasks from the round's checkpoint and stores its local model (parameters and Adam state, with its task
/// count and loss); the aggregate sets the next checkpoint to the task-weighted mean of the shards' models.
/// </summary>
internal sealed class LocalSgdUpdate(PretrainingPlan plan) : RoundUpdate(plan)
{
    private const string TaskCountKey = "taskCount";
    private const string LossSumKey = "lossSum";

    public override double WriteShard(MetaModel start, ITaskSource sampler, int round, int first, int count, Stream destination)
    {
        var (local, meanLoss) = Train(start, sampler, round, first, count);
        using (local)
        {
            local.Save(destination, new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [TaskCountKey] = count.ToString(CultureInfo.InvariantCulture),
                [LossSumKey] = (meanLoss * count).ToString("R", CultureInfo.InvariantCulture),
            });
        }

        return meanLoss;
    }

    public override (int TaskCount, double LossSum) ReadCounts(BinaryData shard)
    {
        var metadata = ModelFile.ReadFrom(shard.ToStream()).Header.Metadata;
        return (int.Parse(metadata[TaskCountKey], CultureInfo.InvariantCulture), double.Parse(metadata[LossSumKey], CultureInfo.InvariantCulture));
    }

    public override (MetaModel Next, double MeanLoss) Advance(MetaModel start, ITaskSource sampler, int round) =>
        Train(start, sampler, round, 0, Plan.MetaBatchSize);

    /// <summary>
    /// Sets <paramref name="next"/> to the task-weighted mean of the shards' local models: parameters and
    /// both Adam moments; the step count advances by the local steps (all shards took the same number).
    /// </summary>
    public override void Aggregate(MetaModel next, IReadOnlyList<BinaryData> shards, IReadOnlyList<int> taskCounts)
    {
        var files = shards.Select(b => ModelFile.ReadFrom(b.ToStream())).ToList();
        using (var first = MetaModel.FromFile(files[0]))
        {
            next.CopyStateFrom(first);
        }

        var total = (float)taskCounts.Sum();
        foreach (var (prefix, target) in new[] { ("param.", next.Parameters), ("adam.m.", next.Optimizer.FirstMoments), ("adam.v.", next.Optimizer.SecondMoments) })
        {
            var groups = files.Select(f => f.Group(prefix)).ToList();
            var averaged = groups[0].Select((entry, i) =>
            {
                var values = new float[entry.Data.Values.Length];
                for (var s = 0; s < groups.Count; s++)
                {
                    var weight = taskCounts[s] / total;
                    var source = groups[s][i].Data.Values;
                    for (var j = 0; j < values.Length; j++)
                    {
                        values[j] += weight * source[j];
                    }
                }

                return (entry.Name, new TensorData(entry.Data.Shape, values));
            }).ToList();
            using var tensors = NamedTensors.FromData(averaged, requiresGrad: false);
            target.CopyFrom(tensors);
        }
    }

    /// <summary>
    /// <see cref="PretrainingPlan.LocalSteps"/> Adam steps on the tasks from <paramref name="start"/>'s copy
    /// (parameters and optimizer state). Local step l of round r samples the tasks of step (r − 1)·L + l + 1,
    /// so no two steps share tasks.
    /// </summary>
    private (MetaModel Local, double MeanLoss) Train(MetaModel start, ITaskSource sampler, int round, int first, int count)
    {
        var local = start.Clone();
        double lossSum = 0;
        for (var step = 0; step < Plan.LocalSteps; step++)
        {
            var localRound = ((long)(round - 1) * Plan.LocalSteps) + step + 1;
            var tasks = TaskSampling.SampleRound(sampler, Plan.Seed, localRound, first, count);
            var update = local.ComputeUpdate(tasks, Plan.ThreadsPerShard);
            local.ApplyUpdate(update);
            lossSum += update.MeanLoss;
        }

        return (local, lossSum / Plan.LocalSteps);
    }
}
