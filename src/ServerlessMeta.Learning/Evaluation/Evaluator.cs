using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Learning.Evaluation;

/// <summary>Post-adaptation quality of a meta-model on held-out tasks.</summary>
public static class Evaluator
{
    /// <summary>Mean squared error on each task's query set after adapting on its support set.</summary>
    public static double[] RegressionMse(MetaModel model, IReadOnlyList<Episode> tasks, int steps, double? learningRate = null, int maxParallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tasks);
        var results = new double[tasks.Count];
        Parallel.For(0, tasks.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, maxParallelism) }, i =>
        {
            using var adapted = model.Adapt(tasks[i].Support, null, new AdaptationOptions(steps, learningRate));
            var predictions = adapted.Predict(tasks[i].Query.Features, tasks[i].Query.Count);
            var targets = tasks[i].Query.Targets!;
            double sum = 0;
            for (var j = 0; j < targets.Length; j++)
            {
                var d = predictions[j] - targets[j];
                sum += d * d;
            }

            results[i] = sum / targets.Length;
        });
        return results;
    }

    /// <summary>Query accuracy of each episode after adapting on its support set.</summary>
    public static double[] ClassificationAccuracy(MetaModel model, IReadOnlyList<Episode> episodes, int? steps = null, int maxParallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(episodes);
        var results = new double[episodes.Count];
        Parallel.For(0, episodes.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, maxParallelism) }, i =>
        {
            var episode = episodes[i];
            using var adapted = model.Adapt(episode.Support, null, new AdaptationOptions(steps));
            results[i] = Accuracy(adapted.Predict(episode.Query.Features, episode.Query.Count), episode.Query.Classes!, episode.Ways);
        });
        return results;
    }

    /// <summary>Fraction of rows whose highest probability is at the true class.</summary>
    public static double Accuracy(float[] probabilities, int[] classes, int ways)
    {
        ArgumentNullException.ThrowIfNull(classes);
        return (double)CorrectCount(probabilities, classes, ways) / classes.Length;
    }

    /// <summary>Rows whose highest probability (the first, on a tie) is at the true class.</summary>
    public static int CorrectCount(float[] probabilities, int[] classes, int ways)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        ArgumentNullException.ThrowIfNull(classes);
        var correct = 0;
        for (var i = 0; i < classes.Length; i++)
        {
            var row = probabilities.AsSpan(i * ways, ways);
            var best = 0;
            for (var c = 1; c < ways; c++)
            {
                if (row[c] > row[best])
                {
                    best = c;
                }
            }

            if (best == classes[i])
            {
                correct++;
            }
        }

        return correct;
    }
}
