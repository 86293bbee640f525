using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Evaluation;

namespace ServerlessMeta.Learning.Adaptation;

/// <summary>What a category's stored model is.</summary>
public enum ModelChoice
{
    /// <summary>The adaptation of a registered meta-model.</summary>
    MetaModel,

    /// <summary>The adaptation of a freshly initialised model (no meta-model fitted).</summary>
    FromScratch,

    /// <summary>Nearest centroid on the raw features, which beat the adaptation in cross-validation.</summary>
    NearestCentroid,
}

/// <summary>
/// A model adapted to a category's support set and what was measured while choosing it. Owns
/// <see cref="Model"/>: dispose the result, or hand the model on and dispose that.
/// </summary>
/// <param name="Model">The model to store.</param>
/// <param name="Chosen">What <see cref="Model"/> is.</param>
/// <param name="Examples">Examples adapted on.</param>
/// <param name="SupportAccuracy">Accuracy of <see cref="Model"/> on the examples it was adapted on.</param>
/// <param name="Folds">Folds of the held-out estimate; 0 when some label had a single example and no estimate was made.</param>
/// <param name="MetaModelAccuracy">Cross-validated accuracy of the adaptation (null without an estimate).</param>
/// <param name="BaselineAccuracy">Cross-validated accuracy of nearest centroid on the same folds (null without an estimate).</param>
/// <param name="AdaptMilliseconds">Time of the adaptation itself.</param>
/// <param name="EstimateMilliseconds">Time of the cross-validation (and of building nearest centroid when it won).</param>
public sealed record AdaptationResult(
    AdaptedModel Model,
    ModelChoice Chosen,
    int Examples,
    double SupportAccuracy,
    int Folds,
    double? MetaModelAccuracy,
    double? BaselineAccuracy,
    double AdaptMilliseconds,
    double EstimateMilliseconds) : IDisposable
{
    /// <summary>The held-out estimate of the model stored (null without an estimate).</summary>
    public double? EstimatedAccuracy => Chosen == ModelChoice.NearestCentroid ? BaselineAccuracy : MetaModelAccuracy;

    /// <summary>Releases the model's tensors.</summary>
    public void Dispose() => Model.Dispose();
}

/// <summary>
/// Adapt-and-choose for one category (pure tensor code: no storage, no clock beyond the timings): adapts the
/// meta-model (or the freshly initialised one) to the support set, keeps nearest centroid instead when it is
/// strictly better in stratified k-fold cross-validation (<see cref="CrossValidatedAdaptation"/>), and measures
/// the stored model on its own support set.
/// </summary>
public static class CategoryAdaptation
{
    /// <summary>Adapts <paramref name="model"/> to <paramref name="support"/> and chooses (see the type).</summary>
    /// <param name="model">The meta-model, or a freshly initialised model.</param>
    /// <param name="fromScratch">True when <paramref name="model"/> was freshly initialised rather than meta-learned.</param>
    /// <param name="support">The featurized support set with its labels.</param>
    /// <param name="adaptation">Adaptation steps and rate.</param>
    /// <param name="maxFolds">At most this many folds.</param>
    public static AdaptationResult Adapt(MetaModel model, bool fromScratch, SupportSet support, AdaptationOptions adaptation, int maxFolds)
    {
        ArgumentNullException.ThrowIfNull(support);
        var set = support.Set;
        var choice = CrossValidatedAdaptation.Choose(model, set, support.Labels, adaptation, maxFolds);
        try
        {
            var supportAccuracy = Evaluator.Accuracy(choice.Model.Predict(set.Features, set.Count), set.Classes!, support.Labels.Count);
            var chosen = choice.NearestCentroidChosen ? ModelChoice.NearestCentroid : fromScratch ? ModelChoice.FromScratch : ModelChoice.MetaModel;
            return new AdaptationResult(choice.Model, chosen, set.Count, supportAccuracy, choice.Folds, choice.MetaAccuracy, choice.BaselineAccuracy, choice.AdaptMilliseconds, choice.EstimateMilliseconds);
        }
        catch
        {
            choice.Model.Dispose();
            throw;
        }
    }
}
