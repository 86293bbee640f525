using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Training;

namespace ServerlessMeta.Learning.Tests;

public class MetaUpdateTests
{
    [Fact]
    public void UpdatesOfShardsSumToTheUpdateOfTheWholeBatch()
    {
        using var model = MetaModel.Create(MetaAlgorithm.Maml, TestData.Sinusoid(hidden: 10), seed: 1);
        var tasks = TestData.SinusoidTasks(10, seed: 3);
        var whole = model.ComputeUpdate(tasks);
        var shards = Enumerable.Range(0, 3).Select(s =>
        {
            var (start, count) = TaskSampling.ShardRange(tasks.Count, 3, s);
            return model.ComputeUpdate([.. tasks.Skip(start).Take(count)]);
        }).ToList();
        var summed = MetaUpdate.Sum(shards);
        Assert.Equal(whole.TaskCount, summed.TaskCount);
        Assert.Equal(whole.LossSum, summed.LossSum, 4);
        for (var p = 0; p < whole.Sums.Count; p++)
        {
            for (var i = 0; i < whole.Sums[p].Length; i++)
            {
                Assert.Equal(whole.Sums[p][i], summed.Sums[p][i], 4);
            }
        }
    }

    [Fact]
    public void SerialisationRoundTripsExactly()
    {
        using var model = MetaModel.Create(MetaAlgorithm.MetaSgd, TestData.Sinusoid(hidden: 5), seed: 1);
        var update = model.ComputeUpdate(TestData.SinusoidTasks(4, seed: 3));
        using var stream = new MemoryStream();
        update.WriteTo(stream);
        stream.Position = 0;
        var read = MetaUpdate.ReadFrom(stream);
        Assert.Equal(update.Names, read.Names);
        Assert.Equal(update.TaskCount, read.TaskCount);
        Assert.Equal(update.LossSum, read.LossSum);
        Assert.Equal(update.Sums, read.Sums);
        var truncated = new MemoryStream(stream.ToArray()[..^5]);
        Assert.Throws<InvalidDataException>(() => MetaUpdate.ReadFrom(truncated));
    }

    [Fact]
    public void ParallelComputationGivesTheSameUpdateAsSequential()
    {
        using var model = MetaModel.Create(MetaAlgorithm.Maml, TestData.Sinusoid(hidden: 10), seed: 1);
        var tasks = TestData.SinusoidTasks(12, seed: 8);
        var sequential = model.ComputeUpdate(tasks, maxParallelism: 1);
        var parallel = model.ComputeUpdate(tasks, maxParallelism: 4);
        for (var p = 0; p < sequential.Sums.Count; p++)
        {
            for (var i = 0; i < sequential.Sums[p].Length; i++)
            {
                Assert.Equal(sequential.Sums[p][i], parallel.Sums[p][i], 5);
            }
        }
    }

    [Fact]
    public void ShardRangesPartitionTheBatch()
    {
        var covered = Enumerable.Range(0, 4).SelectMany(s =>
        {
            var (start, count) = TaskSampling.ShardRange(10, 4, s);
            return Enumerable.Range(start, count);
        });
        Assert.Equal(Enumerable.Range(0, 10), covered);
    }
}
