using ServerlessMeta.Learning;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.Categories;

/// <summary>
/// The checks of a request's examples, labels, items and options that create, feedback, ingest and predict
/// share, made before anything is written. Each throws <see cref="ArgumentException"/> whose
/// <see cref="ArgumentException.ParamName"/> is the JSON field at fault. Labels are read as
/// <see cref="LabelSpelling"/> says: trimmed, and refused when they differ from another only by case.
/// </summary>
internal static class RequestValidator
{
    /// <summary>
    /// The examples as labelled items with trimmed labels: present, at most one append's worth, none null,
    /// every label present, short and printable, every item with features or text that a featurizer accepts.
    /// </summary>
    public static List<LabelledItem> Examples(IReadOnlyList<ExampleInput?>? examples, string field)
    {
        if (examples is null)
        {
            throw new ArgumentException($"{field} is required.", field);
        }

        if (examples.Count == 0)
        {
            throw new ArgumentException($"{field} must hold at least one labelled example.", field);
        }

        if (examples.Count > DatasetStore.MaxExamplesPerAppend)
        {
            throw new ArgumentException($"{field} holds {examples.Count} examples; at most {DatasetStore.MaxExamplesPerAppend} per call.", field);
        }

        var items = new List<LabelledItem>(examples.Count);
        for (var i = 0; i < examples.Count; i++)
        {
            var example = examples[i] ?? throw new ArgumentException($"{field}[{i}] is null.", $"{field}[{i}]");
            var label = example.Label?.Trim();
            if (string.IsNullOrEmpty(label))
            {
                throw new ArgumentException($"{field}[{i}].label is missing.", $"{field}[{i}].label");
            }

            if (label.Length > DatasetStore.MaxLabelLength)
            {
                throw new ArgumentException($"{field}[{i}].label has {label.Length} characters; at most {DatasetStore.MaxLabelLength}.", $"{field}[{i}].label");
            }

            if (label.Any(char.IsControl))
            {
                throw new ArgumentException($"{field}[{i}].label contains control characters.", $"{field}[{i}].label");
            }

            var item = new LabelledItem(example.Features, example.Text, label);
            CheckItem(item.Item, $"{field}[{i}]");
            items.Add(item);
        }

        return items;
    }

    /// <summary>Declared labels, trimmed; none may be empty. Null when none are declared.</summary>
    public static IReadOnlyList<string>? DeclaredLabels(IReadOnlyList<string?>? labels)
    {
        if (labels is null)
        {
            return null;
        }

        var trimmed = new List<string>(labels.Count);
        for (var i = 0; i < labels.Count; i++)
        {
            trimmed.Add(string.IsNullOrWhiteSpace(labels[i]) ? throw new ArgumentException($"labels[{i}] is empty.", $"labels[{i}]") : labels[i]!.Trim());
        }

        return trimmed;
    }

    /// <summary>Items to predict: present, at most <paramref name="max"/>, none null.</summary>
    public static List<CatalogItem> Items(IReadOnlyList<ItemInput?>? items, int max)
    {
        if (items is null)
        {
            throw new ArgumentException("items is required.", "items");
        }

        if (items.Count == 0)
        {
            throw new ArgumentException("items must hold at least one item.", "items");
        }

        if (items.Count > max)
        {
            throw new ArgumentException($"items holds {items.Count} items; at most {max} per call.", "items");
        }

        return [.. items.Select((item, i) => item is null ? throw new ArgumentException($"items[{i}] is null.", $"items[{i}]") : new CatalogItem(item.Features, item.Text))];
    }

    /// <summary>Refuses examples that would give the category (with <paramref name="existing"/> labels) more than <see cref="Limits.MaxLabels"/> labels.</summary>
    public static void CheckLabelLimit(IEnumerable<string> existing, IReadOnlyList<LabelledItem> examples, string field)
    {
        var labels = existing.Union(examples.Select(e => e.Label), StringComparer.Ordinal).Count();
        if (labels > Limits.MaxLabels)
        {
            throw new ArgumentException($"The category would have {labels} labels; at most {Limits.MaxLabels} are supported.", field);
        }
    }

    /// <summary>
    /// Examples to store without a featurizer (ingest) in a category that has <paramref name="labels"/> and
    /// <paramref name="featureCount"/> numeric features (none yet: null): labels spelled as the category's, the
    /// same number of features everywhere, and at most <see cref="Limits.MaxLabels"/> labels in all.
    /// </summary>
    public static void CheckAddition(IReadOnlyList<string> labels, int? featureCount, IReadOnlyList<LabelledItem> added, bool caseSensitiveLabels, string field)
    {
        LabelSpelling.CheckCase(labels, null, added, caseSensitiveLabels, field);
        CheckFeatureWidth(added, featureCount, field);
        CheckLabelLimit(labels, added, field);
    }

    /// <summary>
    /// For data stored without a featurizer (ingest): every example with features has the same number of them,
    /// and that is <paramref name="categoryWidth"/> when the category already has one.
    /// </summary>
    public static void CheckFeatureWidth(IReadOnlyList<LabelledItem> examples, int? categoryWidth, string field)
    {
        var counts = examples.Where(e => e.Features is { Count: > 0 }).Select(e => e.Features!.Count).Distinct().ToList();
        if (counts.Count > 1)
        {
            var index = examples.ToList().FindIndex(e => e.Features is { Count: > 0 } && e.Features.Count != counts[0]);
            throw new ArgumentException($"{field}[{index}].features has {examples[index].Features!.Count} numbers; the others have {counts[0]}.", $"{field}[{index}].features");
        }

        if (categoryWidth is { } width && counts.Count == 1 && counts[0] != width)
        {
            var index = examples.ToList().FindIndex(e => e.Features is { Count: > 0 });
            throw new ArgumentException($"{field}[{index}].features has {counts[0]} numbers; this category's examples have {width}.", $"{field}[{index}].features");
        }
    }

    /// <summary>The adaptation options, within their documented bounds (errors name <c>adaptation.*</c>).</summary>
    public static AdaptationOptions Adaptation(AdaptationInput? input)
    {
        var adaptation = new AdaptationOptions(input?.Steps, input?.LearningRate);
        try
        {
            adaptation.Validate();
        }
        catch (ArgumentException e)
        {
            throw FieldErrors.Renamed(e, $"adaptation.{e.ParamName}");
        }

        return adaptation;
    }

    /// <summary>The algorithm of a wire name (errors name <c>algorithm</c>).</summary>
    public static MetaAlgorithm Algorithm(string algorithm)
    {
        try
        {
            return MetaAlgorithms.Parse(algorithm);
        }
        catch (ArgumentException e)
        {
            throw FieldErrors.Renamed(e, "algorithm");
        }
    }

    /// <summary>The support set of <paramref name="examples"/>, with its errors on the request's fields.</summary>
    public static SupportSet Support(Featurizer featurizer, IReadOnlyList<LabelledItem> examples, IReadOnlyList<string>? declaredLabels, string field)
    {
        try
        {
            return SupportSet.Create(featurizer, examples, declaredLabels);
        }
        catch (ArgumentException e) when (e.ParamName is "labels" or "ways" or "examples")
        {
            throw FieldErrors.Renamed(e, e.ParamName == "examples" ? field : "labels");
        }
    }

    /// <summary>What a featurizer would reject, checked also for data that is stored without one (ingest).</summary>
    private static void CheckItem(CatalogItem item, string field)
    {
        var hasFeatures = item.Features is { Count: > 0 };
        if (!hasFeatures && string.IsNullOrWhiteSpace(item.Text))
        {
            throw new ArgumentException($"{field}: an item needs features, text, or both.", field);
        }

        if (hasFeatures)
        {
            for (var j = 0; j < item.Features!.Count; j++)
            {
                if (!float.IsFinite(item.Features[j]))
                {
                    throw new ArgumentException($"{field}.features[{j}] is not a finite number.", $"{field}.features");
                }
            }
        }

        if (item.Text is { Length: > FeaturizerOptions.DefaultMaxTextLength })
        {
            throw new ArgumentException($"{field}.text has {item.Text.Length} characters; at most {FeaturizerOptions.DefaultMaxTextLength} are accepted.", $"{field}.text");
        }
    }
}
