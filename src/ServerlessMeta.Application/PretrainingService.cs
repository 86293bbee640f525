using Microsoft.Extensions.Options;
using ServerlessMeta.Application.Pretraining;

namespace ServerlessMeta.Application;

/// <summary>
/// What starting a pretraining run needs from this process: the defaults of a plan that names no shards
/// or text encoder, and whether the stored data can feed the plan. The run's steps themselves are
/// <see cref="PretrainingData"/>, <see cref="PretrainingRounds"/>, <see cref="PretrainingEvaluation"/>
/// and <see cref="PretrainingRegistration"/>.
/// </summary>
public sealed class PretrainingService(PretrainingData data, TextEncoders encoders, IOptions<PretrainingServiceOptions> options)
{
    /// <summary>The text features runs started here use unless they say otherwise: minilm or hashed (setting SMETA_TEXT_ENCODER).</summary>
    public string DefaultTextEncoder => encoders.DefaultName;

    /// <summary>The shards of a run that names none (<see cref="PretrainingServiceOptions.Instances"/>, at most the meta-batch).</summary>
    public int DefaultShards(int metaBatchSize) => options.Value.DefaultShards(metaBatchSize);

    /// <inheritdoc cref="PretrainingData.CheckDataAsync"/>
    public Task<string?> CheckDataAsync(PretrainingPlan plan, CancellationToken cancellationToken = default) => data.CheckDataAsync(plan, cancellationToken);
}
