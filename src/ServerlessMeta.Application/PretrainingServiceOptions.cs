using System.Globalization;

namespace ServerlessMeta.Application;

/// <summary>Per-process settings of pretraining: <see cref="PretrainingService"/> and the pretraining steps.</summary>
public sealed class PretrainingServiceOptions
{
    /// <summary>Who this process is in shard results and logs (default: host name and process id).</summary>
    public string WorkerId { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Loaded checkpoints kept in memory (each round reads the previous one).</summary>
    public int ModelCacheSize { get; set; } = 4;

    /// <summary>Configuration section: <c>SMETA_PRETRAINING__INSTANCES</c>.</summary>
    public const string SectionName = "SMETA_PRETRAINING";

    /// <summary>
    /// How many instances (worker processes or Functions instances) a pretraining run may use: the number of shards
    /// a run gets when neither its request nor the retraining schedule names one (at most its meta-batch). Default:
    /// the cores this host can see, one single-threaded shard each.
    /// </summary>
    public int Instances { get; set; } = Environment.ProcessorCount;

    /// <summary>The shards of a run of <paramref name="metaBatchSize"/> tasks per round that names none.</summary>
    public int DefaultShards(int metaBatchSize) => Math.Clamp(Instances, 1, Math.Max(1, metaBatchSize));
}
