using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace ServerlessMeta.Application;

/// <summary>
/// The traces and metrics of adaptation and pretraining, on the BCL's <see cref="ActivitySource"/> and
/// <see cref="Meter"/> named <see cref="Name"/>. Hosts subscribe with OpenTelemetry (<c>AddSource(Name)</c>,
/// <c>AddMeter(Name)</c>); without a listener they cost next to nothing.
/// </summary>
public static class ServerlessMetaTelemetry
{
    /// <summary>The name of the activity source and of the meter.</summary>
    public const string Name = "ServerlessMeta";

    private static readonly string Version =
        typeof(ServerlessMetaTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static ActivitySource ActivitySource { get; } = new(Name, Version);

    public static Meter Meter { get; } = new(Name, Version);

    /// <summary>Milliseconds to adapt a model to a category and store it (create and feedback), tagged with the algorithm and the choice.</summary>
    internal static Histogram<double> AdaptationDuration { get; } =
        Meter.CreateHistogram<double>("smeta.adaptation.duration", "ms", "Time to adapt a model to a category's examples, estimate it and store it.");

    /// <summary>Milliseconds per predict call.</summary>
    internal static Histogram<double> PredictionDuration { get; } =
        Meter.CreateHistogram<double>("smeta.prediction.duration", "ms", "Time to answer one predict call.");

    /// <summary>Items predicted.</summary>
    internal static Counter<long> PredictedItems { get; } =
        Meter.CreateCounter<long>("smeta.prediction.items", "{item}", "Items predicted.");

    /// <summary>Compute time of a pretraining round: its slowest shard plus the aggregate step (orchestration overhead excluded).</summary>
    internal static Histogram<double> RoundDuration { get; } =
        Meter.CreateHistogram<double>("smeta.pretraining.round.duration", "ms", "Compute time of a pretraining round: the slowest shard plus the aggregate step.");

    /// <summary>Milliseconds per shard activity.</summary>
    internal static Histogram<double> ShardDuration { get; } =
        Meter.CreateHistogram<double>("smeta.pretraining.shard.duration", "ms", "Time to compute one shard's meta-update.");

    /// <summary>Each round's mean meta-loss (query loss after the inner loop).</summary>
    internal static Histogram<double> MetaLoss { get; } =
        Meter.CreateHistogram<double>("smeta.pretraining.meta_loss", null, "Mean meta-loss of a pretraining round.");

    /// <summary>Held-out accuracy of a checkpoint, per split.</summary>
    internal static Histogram<double> HeldOutAccuracy { get; } =
        Meter.CreateHistogram<double>("smeta.pretraining.held_out_accuracy", null, "Accuracy after adaptation on held-out categories.");
}
