namespace ServerlessMeta.Learning.Tasks;

/// <summary>
/// A category's featurized examples grouped by label: the input of N-way K-shot episode sampling.
/// Label names belong to the category (two categories never share a label).
/// </summary>
public sealed class LabelledCategory
{
    public LabelledCategory(string categoryId, int dimension, IReadOnlyDictionary<string, IReadOnlyList<float[]>> examplesByLabel)
    {
        ArgumentException.ThrowIfNullOrEmpty(categoryId);
        ArgumentNullException.ThrowIfNull(examplesByLabel);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        foreach (var (label, examples) in examplesByLabel)
        {
            if (examples.Any(e => e.Length != dimension))
            {
                throw new ArgumentException($"Label '{label}' of category '{categoryId}' has an example whose length is not {dimension}.", nameof(examplesByLabel));
            }
        }

        CategoryId = categoryId;
        Dimension = dimension;
        Labels = [.. examplesByLabel.Keys.Order(StringComparer.Ordinal)];
        ExamplesByLabel = examplesByLabel;
    }

    public string CategoryId { get; }

    public int Dimension { get; }

    /// <summary>Label names in ordinal order (stable across runs).</summary>
    public IReadOnlyList<string> Labels { get; }

    public IReadOnlyDictionary<string, IReadOnlyList<float[]>> ExamplesByLabel { get; }

    public int ExampleCount => ExamplesByLabel.Values.Sum(e => e.Count);

    /// <summary>Labels with at least <paramref name="minimum"/> examples.</summary>
    public IReadOnlyList<string> LabelsWithAtLeast(int minimum) =>
        [.. Labels.Where(l => ExamplesByLabel[l].Count >= minimum)];
}
