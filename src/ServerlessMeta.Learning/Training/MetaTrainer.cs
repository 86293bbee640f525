using System.Diagnostics;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Learning.Training;

/// <summary>How an in-process meta-training run proceeds.</summary>
public sealed record TrainingOptions
{
    public int Iterations { get; init; } = 1000;

    public int MetaBatchSize { get; init; } = 25;

    public long Seed { get; init; }

    /// <summary>Tasks computed in parallel within a meta-batch.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Validate every this many iterations (0: never; the last weights are kept).</summary>
    public int ValidationInterval { get; init; }
}

/// <summary>Progress of a run, reported after every iteration.</summary>
public readonly record struct TrainingProgress(int Iteration, int Iterations, double MetaLoss, double? ValidationScore, double BestValidationScore);

/// <summary>What a run did.</summary>
public sealed record TrainingResult(int Iterations, int BestIteration, double BestValidationScore, double FinalMetaLoss, double MedianMsPerIteration);

/// <summary>
/// The in-process meta-training loop: sample a round's tasks deterministically, compute their
/// summed meta-update, apply it. With a validation function (higher is better), evaluates at the
/// start and every <see cref="TrainingOptions.ValidationInterval"/> iterations and restores the
/// best weights at the end (early stopping), so training never ends worse than its start on
/// held-out tasks.
/// </summary>
public static class MetaTrainer
{
    public static TrainingResult Train(
        MetaModel model,
        ITaskSource tasks,
        TrainingOptions options,
        Func<MetaModel, double>? validate = null,
        Action<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tasks);
        ArgumentNullException.ThrowIfNull(options);
        var useValidation = validate is not null && options.ValidationInterval > 0;
        var best = useValidation ? validate!(model) : double.NaN;
        var bestIteration = 0;
        using var bestState = useValidation ? model.Clone() : null;
        var durations = new List<double>(options.Iterations);
        double lastLoss = double.NaN;
        var stopwatch = new Stopwatch();
        for (var iteration = 1; iteration <= options.Iterations; iteration++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            stopwatch.Restart();
            var batch = TaskSampling.SampleRound(tasks, options.Seed, iteration, 0, options.MetaBatchSize);
            var update = model.ComputeUpdate(batch, options.Threads);
            if (!double.IsFinite(update.MeanLoss))
            {
                throw new InvalidOperationException($"Meta-training diverged at iteration {iteration}: the meta-loss is {update.MeanLoss}. Lower the outer or inner learning rate.");
            }

            model.ApplyUpdate(update);
            durations.Add(stopwatch.Elapsed.TotalMilliseconds);
            lastLoss = update.MeanLoss;
            double? score = null;
            if (useValidation && (iteration % options.ValidationInterval == 0 || iteration == options.Iterations))
            {
                score = validate!(model);
                if (score > best)
                {
                    best = score.Value;
                    bestIteration = iteration;
                    bestState!.CopyStateFrom(model);
                }
            }

            progress?.Invoke(new TrainingProgress(iteration, options.Iterations, lastLoss, score, best));
        }

        if (useValidation && bestIteration != options.Iterations)
        {
            model.CopyStateFrom(bestState!);
        }

        return new TrainingResult(options.Iterations, useValidation ? bestIteration : options.Iterations, best, lastLoss, MeanEstimate.Median(durations));
    }
}
