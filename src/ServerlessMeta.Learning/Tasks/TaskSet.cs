namespace ServerlessMeta.Learning.Tasks;

/// <summary>What a model predicts.</summary>
public enum TaskKind
{
    /// <summary>One real-valued target per example (mean squared error).</summary>
    Regression,

    /// <summary>One of N labels per example (cross-entropy).</summary>
    Classification,
}

/// <summary>
/// A batch of featurized examples in plain managed memory (row-major), so tasks can be built,
/// shipped and stored without touching native tensors. Classification sets carry class indices
/// in [0, ways); regression sets carry one float target per example.
/// </summary>
public sealed class TaskSet
{
    private TaskSet(float[] features, int count, int dimension, int[]? classes, float[]? targets)
    {
        Features = features;
        Count = count;
        Dimension = dimension;
        Classes = classes;
        Targets = targets;
    }

    public float[] Features { get; }

    public int Count { get; }

    public int Dimension { get; }

    /// <summary>Class index of each example (classification).</summary>
    public int[]? Classes { get; }

    /// <summary>Target of each example (regression).</summary>
    public float[]? Targets { get; }

    public TaskKind Kind => Classes is null ? TaskKind.Regression : TaskKind.Classification;

    public static TaskSet ForClassification(float[] features, int dimension, int[] classes)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(classes);
        Check(features, dimension, classes.Length);
        return new TaskSet(features, classes.Length, dimension, classes, null);
    }

    public static TaskSet ForRegression(float[] features, int dimension, float[] targets)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        Check(features, dimension, targets.Length);
        foreach (var t in targets)
        {
            if (!float.IsFinite(t))
            {
                throw new ArgumentException("Regression targets must be finite numbers.", nameof(targets));
            }
        }

        return new TaskSet(features, targets.Length, dimension, null, targets);
    }

    /// <summary>Examples of both sets, in order (used by Reptile, which trains on all of a task's data).</summary>
    public static TaskSet Concat(TaskSet first, TaskSet second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Dimension != second.Dimension || first.Kind != second.Kind)
        {
            throw new ArgumentException("Sets to concatenate must have the same dimension and kind.");
        }

        var features = first.Features.Concat(second.Features).ToArray();
        return first.Kind == TaskKind.Classification
            ? ForClassification(features, first.Dimension, [.. first.Classes!, .. second.Classes!])
            : ForRegression(features, first.Dimension, [.. first.Targets!, .. second.Targets!]);
    }

    private static void Check(float[] features, int dimension, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        if (count == 0)
        {
            throw new ArgumentException("A set needs at least one example.", nameof(count));
        }

        if (features.Length != count * dimension)
        {
            throw new ArgumentException($"Expected {count} x {dimension} = {count * dimension} feature values, got {features.Length}.", nameof(features));
        }

        for (var i = 0; i < features.Length; i++)
        {
            if (!float.IsFinite(features[i]))
            {
                throw new ArgumentException($"Feature value at example {i / dimension}, position {i % dimension} is not a finite number.", nameof(features));
            }
        }
    }
}

/// <summary>One task: adapt on <see cref="Support"/>, measure on <see cref="Query"/>.</summary>
public sealed record Episode(TaskSet Support, TaskSet Query, int Ways)
{
    public TaskKind Kind => Support.Kind;
}

/// <summary>A family of tasks to meta-train or evaluate on.</summary>
public interface ITaskSource
{
    TaskKind Kind { get; }

    int Dimension { get; }

    /// <summary>Samples one task; the result depends only on the generator's state.</summary>
    Episode Sample(Data.DeterministicRandom random);
}
