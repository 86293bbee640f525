using System.Globalization;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Pretraining;

/// <summary>
/// The last step of a run: tests the best checkpoint against the baseline, registers it as the serving
/// meta-model when it wins (or keeps it under the run), and clears the run's intermediate artifacts.
/// </summary>
public sealed class PretrainingRegistration(PretrainingData data, PretrainingCheckpoints checkpoints, PretrainingEvaluation evaluation, MetaModelRegistry registry, RunArtifactStore artifacts, ILogger<PretrainingRegistration> logger)
{
    /// <summary>
    /// Evaluates the best checkpoint on the test categories beside nearest centroid; registers it (with
    /// lineage and both figures) as the new serving meta-model only if it beats the baseline, otherwise keeps
    /// it under the run and says why. Idempotent: a run registers at most once. Then deletes the run's shard
    /// updates and the checkpoints other than the best and the last.
    /// </summary>
    public async Task<PretrainingOutcome> FinishAsync(FinishRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var plan = request.Plan;
        var runData = await data.GetDataAsync(plan, cancellationToken).ConfigureAwait(false);
        var test = await evaluation.EvaluateAsync(new EvaluationRequest(plan, request.Best, EvaluationSplit.Test), cancellationToken).ConfigureAwait(false);
        var accuracy = Math.Round(test.Accuracy, 6);
        var baseline = Math.Round(test.BaselineAccuracy, 6);
        var margin = Math.Round(test.AdvantageCi95, 6);
        var figures = string.Create(CultureInfo.InvariantCulture, $"held-out test accuracy {accuracy:F4} vs nearest centroid {baseline:F4} on the same {test.Episodes} episodes from {runData.Test.Count} held-out categories (best round {request.Best.Round}; a gain must exceed {margin:F4}, the 95% confidence half-width of the per-episode difference)");

        PretrainingOutcome outcome;
        if (PretrainingEvaluation.BeatsBaseline(test))
        {
            var registered = await FindRegisteredAsync(plan.RunId, cancellationToken).ConfigureAwait(false);
            if (registered is null)
            {
                var bytes = await checkpoints.ReadAsync(plan.RunId, request.Best, cancellationToken).ConfigureAwait(false);
                var metrics = new Dictionary<string, double>(StringComparer.Ordinal)
                {
                    ["testAccuracy"] = accuracy,
                    ["baselineNearestCentroidAccuracy"] = baseline,
                    ["advantageCi95"] = margin,
                    ["bestRound"] = request.Best.Round,
                    ["roundsTrained"] = request.Last.Round,
                };
                if (request.BestValidationAccuracy is { } validation)
                {
                    metrics["validationAccuracy"] = Math.Round(validation, 6);
                }

                registered = await registry.AddVersionAsync(bytes.ToStream(), new NewMetaModel
                {
                    Algorithm = plan.ParsedAlgorithm.ToWireName(),
                    PretrainingRunId = plan.RunId,
                    Iterations = request.Best.Round,
                    DataSnapshotId = runData.SnapshotId,
                    Hyperparameters = plan.Describe(plan.Hyperparameters()),
                    Metrics = metrics,
                }, cancellationToken).ConfigureAwait(false);
            }

            outcome = new PretrainingOutcome(plan.RunId, true, registered.Version, registered.BlobName, $"Served as meta-model version {registered.Version}: {figures}.",
                request.Best.Round, request.Last.Round, accuracy, baseline, request.BestValidationAccuracy, runData.SnapshotId, request.Workers);
        }
        else
        {
            var bytes = await checkpoints.ReadAsync(plan.RunId, request.Best, cancellationToken).ConfigureAwait(false);
            var kept = await artifacts.CreateAsync(plan.RunId, RunArtifactNames.Model, bytes, cancellationToken).ConfigureAwait(false);
            outcome = new PretrainingOutcome(plan.RunId, false, null, kept.BlobName, $"Not served (kept at {kept.BlobName}): it does not beat the baseline by more than chance: {figures}.",
                request.Best.Round, request.Last.Round, accuracy, baseline, request.BestValidationAccuracy, runData.SnapshotId, request.Workers);
        }

        await CleanUpAsync(plan.RunId, request.Best, request.Last, cancellationToken).ConfigureAwait(false);
        if (logger.IsEnabled(LogLevel.Information))
        {
            Log.Finished(logger, plan.RunId, outcome.Served, outcome.Reason);
        }

        return outcome;
    }

    /// <summary>The meta-model version a run registered (the last one if several), or null.</summary>
    private async Task<MetaModelVersion?> FindRegisteredAsync(string runId, CancellationToken cancellationToken)
    {
        MetaModelVersion? registered = null;
        await foreach (var version in registry.ListVersionsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (version.PretrainingRunId == runId)
            {
                registered = version;
            }
        }

        return registered;
    }

    /// <summary>Deletes the run's shard updates and every checkpoint but <paramref name="best"/> and <paramref name="last"/>.</summary>
    private async Task CleanUpAsync(string runId, CheckpointRef best, CheckpointRef last, CancellationToken cancellationToken)
    {
        await artifacts.DeleteAsync(runId, RunArtifactNames.Updates, cancellationToken).ConfigureAwait(false);
        var keep = new HashSet<string>(StringComparer.Ordinal) { RunArtifactNames.Checkpoint(runId, best), RunArtifactNames.Checkpoint(runId, last) };
        var stale = new List<string>();
        await foreach (var checkpoint in artifacts.ListAsync(runId, RunArtifactNames.Checkpoints, cancellationToken).ConfigureAwait(false))
        {
            if (!keep.Contains(checkpoint))
            {
                stale.Add(checkpoint);
            }
        }

        foreach (var checkpoint in stale)
        {
            await artifacts.DeleteAsync(runId, checkpoint, cancellationToken).ConfigureAwait(false);
        }
    }
}
