using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Learning.Training;

/// <summary>
/// Deterministic task sampling: task i of round r under seed s is always the same task, whichever
/// process draws it. Distributed training partitions the indices of a round among shards.
/// </summary>
public static class TaskSampling
{
    /// <summary>Tasks <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> − 1 of a round.</summary>
    public static IReadOnlyList<Episode> SampleRound(ITaskSource source, long seed, long round, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return [.. Enumerable.Range(start, count).Select(i => source.Sample(DeterministicRandom.Derive(seed, round, i)))];
    }

    /// <summary>The index range of <paramref name="shard"/> when <paramref name="metaBatchSize"/> tasks are split into <paramref name="shards"/> near-equal parts.</summary>
    public static (int Start, int Count) ShardRange(int metaBatchSize, int shards, int shard)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(metaBatchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shards);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shards, metaBatchSize);
        if (shard < 0 || shard >= shards)
        {
            throw new ArgumentOutOfRangeException(nameof(shard));
        }

        var start = (int)((long)metaBatchSize * shard / shards);
        var end = (int)((long)metaBatchSize * (shard + 1) / shards);
        return (start, end - start);
    }

    /// <summary>A fixed evaluation set, independent of any training round (negative "round" space).</summary>
    public static IReadOnlyList<Episode> SampleEvaluation(ITaskSource source, long seed, int count) =>
        SampleRound(source, seed, -1, 0, count);
}
