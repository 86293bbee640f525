using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Learning.Algorithms;

/// <summary>Labelled catalogue items featurized into a classification support set with its label list.</summary>
public sealed record SupportSet(TaskSet Set, IReadOnlyList<string> Labels)
{
    /// <summary>
    /// Featurizes and validates examples. Labels are ordered ordinally. When <paramref name="declaredLabels"/>
    /// is given, every declared label must have an example and no other label may appear.
    /// Throws <see cref="ArgumentException"/> naming the problem.
    /// </summary>
    public static SupportSet Create(Featurizer featurizer, IReadOnlyList<LabelledItem> examples, IReadOnlyList<string>? declaredLabels = null)
    {
        ArgumentNullException.ThrowIfNull(featurizer);
        if (examples is null || examples.Count == 0)
        {
            throw new ArgumentException("The support set is empty: at least one example per label is needed.", nameof(examples));
        }

        for (var i = 0; i < examples.Count; i++)
        {
            if (examples[i] is null)
            {
                throw new ArgumentException($"examples[{i}] is null.", $"examples[{i}]");
            }

            if (string.IsNullOrWhiteSpace(examples[i].Label))
            {
                throw new ArgumentException($"examples[{i}].label is missing.", $"examples[{i}].label");
            }
        }

        var labels = declaredLabels is null
            ? examples.Select(e => e.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList()
            : [.. declaredLabels];
        CheckWays(labels.Count);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < labels.Count; i++)
        {
            if (!index.TryAdd(labels[i], i))
            {
                throw new ArgumentException($"Label '{labels[i]}' is declared twice.", "labels");
            }
        }

        var classes = new int[examples.Count];
        for (var i = 0; i < examples.Count; i++)
        {
            if (!index.TryGetValue(examples[i].Label, out classes[i]))
            {
                throw new ArgumentException($"examples[{i}].label '{examples[i].Label}' is not a declared label.", $"examples[{i}].label");
            }
        }

        var missing = labels.FirstOrDefault(l => !classes.Contains(index[l]));
        if (missing is not null)
        {
            throw new ArgumentException($"Label '{missing}' has no examples; every label needs at least one.", "labels");
        }

        var features = featurizer.FeaturizeMany([.. examples.Select(e => e.Item)], "examples");
        return new SupportSet(TaskSet.ForClassification(features, featurizer.OutputDimension, classes), labels);
    }

    internal static void CheckWays(int ways)
    {
        if (ways > Limits.MaxLabels)
        {
            throw new ArgumentException($"A category may have at most {Limits.MaxLabels} labels; got {ways}.", "labels");
        }

        if (ways < Limits.MinLabels)
        {
            throw new ArgumentException($"A classifier needs at least {Limits.MinLabels} labels; got {ways}.", "labels");
        }
    }
}
