using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Learning.Adaptation;

/// <summary>
/// The per-category choice the service makes: adapt the model to the support set and, when every label
/// has at least two examples, estimate by stratified k-fold cross-validation (the same folds for both)
/// whether that adaptation or nearest centroid on the same features predicts held-out examples better;
/// nearest centroid is kept only when strictly better. Pure engine code: no storage, no clock.
/// </summary>
public static class CrossValidatedAdaptation
{
    /// <summary>What was chosen and why.</summary>
    /// <param name="Model">The model to store (the adaptation, or nearest centroid).</param>
    /// <param name="NearestCentroidChosen">True when nearest centroid won the cross-validation.</param>
    /// <param name="Folds">Folds used (0 when a label had a single example and no estimate was possible).</param>
    /// <param name="MetaAccuracy">Cross-validated accuracy of the adaptation.</param>
    /// <param name="BaselineAccuracy">Cross-validated accuracy of nearest centroid.</param>
    /// <param name="AdaptMilliseconds">Time of the adaptation itself.</param>
    /// <param name="EstimateMilliseconds">Time of the cross-validation (and of building nearest centroid when it won).</param>
    public sealed record Choice(AdaptedModel Model, bool NearestCentroidChosen, int Folds, double? MetaAccuracy, double? BaselineAccuracy, double AdaptMilliseconds, double EstimateMilliseconds);

    /// <summary>Adapts <paramref name="model"/> and chooses between it and nearest centroid (see the type).</summary>
    /// <param name="model">The meta-model (or a freshly initialised one) to adapt.</param>
    /// <param name="support">The featurized support set.</param>
    /// <param name="labels">Label names in class order.</param>
    /// <param name="adaptation">Adaptation steps and rate.</param>
    /// <param name="maxFolds">At most this many folds.</param>
    public static Choice Choose(MetaModel model, TaskSet support, IReadOnlyList<string> labels, AdaptationOptions adaptation, int maxFolds = 5)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(support);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFolds, 2);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var adapted = model.Adapt(support, labels, adaptation);
        var adaptMs = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        var perLabel = new int[labels.Count];
        foreach (var c in support.Classes!)
        {
            perLabel[c]++;
        }

        var folds = Math.Min(maxFolds, perLabel.Min());
        if (folds < 2)
        {
            return new Choice(adapted, false, 0, null, null, adaptMs, 0);
        }

        var (meta, baseline) = CrossValidate(model, support, labels, adaptation, folds);
        if (baseline > meta)
        {
            adapted.Dispose();
            var centroid = NearestCentroidModel(model, support, labels);
            return new Choice(centroid, true, folds, meta, baseline, adaptMs, clock.Elapsed.TotalMilliseconds);
        }

        return new Choice(adapted, false, folds, meta, baseline, adaptMs, clock.Elapsed.TotalMilliseconds);
    }

    /// <summary>
    /// Nearest centroid on the raw features as a storable model: a prototypical network whose embedding is
    /// the identity (its initialisation), adapted with no steps, so its prototypes are the class means.
    /// </summary>
    public static AdaptedModel NearestCentroidModel(MetaModel like, TaskSet support, IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(like);
        var config = new ModelConfig { TaskKind = TaskKind.Classification, InputDimension = like.Model.InputDimension, HiddenWidths = [1] };
        using var centroid = MetaModel.Create(MetaAlgorithm.ProtoNet, config, MetaLearningOptions.DefaultsFor(MetaAlgorithm.ProtoNet, TaskKind.Classification), like.Featurizer);
        return centroid.Adapt(support, labels, new AdaptationOptions(Steps: 0));
    }

    /// <summary>Stratified folds: the i-th example of each label goes to fold i mod k, so every training fold keeps every label.</summary>
    private static (double Meta, double Baseline) CrossValidate(MetaModel model, TaskSet set, IReadOnlyList<string> labels, AdaptationOptions adaptation, int folds)
    {
        var ways = labels.Count;
        var fold = new int[set.Count];
        var seen = new int[ways];
        for (var i = 0; i < set.Count; i++)
        {
            fold[i] = seen[set.Classes![i]]++ % folds;
        }

        var metaCorrect = 0;
        var baselineCorrect = 0;
        for (var f = 0; f < folds; f++)
        {
            var train = Select(set, i => fold[i] != f);
            var test = Select(set, i => fold[i] == f);
            using (var adapted = model.Adapt(train, labels, adaptation))
            {
                metaCorrect += Evaluator.CorrectCount(adapted.Predict(test.Features, test.Count), test.Classes!, ways);
            }

            var predicted = NearestCentroid.Fit(train, ways).Classify(test.Features, test.Count);
            baselineCorrect += predicted.Where((p, i) => p == test.Classes![i]).Count();
        }

        return ((double)metaCorrect / set.Count, (double)baselineCorrect / set.Count);
    }

    private static TaskSet Select(TaskSet set, Func<int, bool> keep)
    {
        var rows = Enumerable.Range(0, set.Count).Where(keep).ToArray();
        var features = new float[rows.Length * set.Dimension];
        for (var r = 0; r < rows.Length; r++)
        {
            set.Features.AsSpan(rows[r] * set.Dimension, set.Dimension).CopyTo(features.AsSpan(r * set.Dimension));
        }

        return TaskSet.ForClassification(features, set.Dimension, [.. rows.Select(r => set.Classes![r])]);
    }
}
