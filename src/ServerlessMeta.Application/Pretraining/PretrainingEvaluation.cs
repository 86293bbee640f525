using Microsoft.Extensions.Logging;
using ServerlessMeta.Learning.Evaluation;

namespace ServerlessMeta.Application.Pretraining;

/// <summary>
/// Held-out quality of a checkpoint on the fixed evaluation episodes of the validation or test categories,
/// beside nearest centroid on the same episodes, and the serving rule that compares the two.
/// </summary>
public sealed class PretrainingEvaluation(PretrainingData data, PretrainingCheckpoints checkpoints, ILogger<PretrainingEvaluation> logger)
{
    /// <summary>
    /// The serving rule: a meta-model is served only when it beats nearest centroid on the same features and
    /// episodes by more than the 95% confidence half-width of the per-episode difference (more than chance would).
    /// </summary>
    public static bool BeatsBaseline(EvaluationResult test)
    {
        ArgumentNullException.ThrowIfNull(test);
        return test.Accuracy - test.BaselineAccuracy > test.AdvantageCi95;
    }

    /// <summary>
    /// Accuracy after adaptation and mean query loss of a checkpoint on a fixed set of episodes from the
    /// validation or test categories, beside nearest centroid on raw features on the same episodes.
    /// </summary>
    public async Task<EvaluationResult> EvaluateAsync(EvaluationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = request.Plan;
        using var activity = ServerlessMetaTelemetry.ActivitySource.StartActivity("smeta.pretraining.evaluate");
        activity?.SetTag("smeta.run_id", plan.RunId).SetTag("smeta.round", request.Checkpoint.Round).SetTag("smeta.split", request.Split.ToString());
        var (episodes, baselines) = await data.GetEvaluationSetAsync(plan, request.Split, cancellationToken).ConfigureAwait(false);
        var baseline = baselines.Average();
        using var lease = await checkpoints.AcquireAsync(plan.RunId, request.Checkpoint, cancellationToken).ConfigureAwait(false);
        var model = lease.Model;
        // Evaluation runs alone between rounds: use every core (results do not depend on the thread count).
        var threads = Environment.ProcessorCount;
        var perEpisode = Evaluator.ClassificationAccuracy(model, episodes, maxParallelism: threads);
        var accuracy = perEpisode.Average();
        var advantage = MeanEstimate.Of([.. perEpisode.Select((a, i) => a - baselines[i])]);
        var loss = model.ComputeUpdate(episodes, threads).MeanLoss;
        Log.Evaluated(logger, plan.RunId, request.Checkpoint.Round, request.Split, accuracy, loss, baseline);
        ServerlessMetaTelemetry.HeldOutAccuracy.Record(accuracy, new KeyValuePair<string, object?>("smeta.algorithm", plan.Algorithm), new KeyValuePair<string, object?>("smeta.split", request.Split.ToString()));
        activity?.SetTag("smeta.accuracy", accuracy).SetTag("smeta.baseline_accuracy", baseline);
        return new EvaluationResult(request.Checkpoint.Round, request.Split, accuracy, loss, baseline, episodes.Count, advantage.Ci95);
    }
}
