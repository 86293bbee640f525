using System.Text.Json.Serialization;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Learning.Algorithms;

/// <summary>Hyperparameters of meta-training and adaptation. Stored in every model file.</summary>
public sealed record MetaLearningOptions
{
    /// <summary>Step size of the inner (task-level) gradient steps; Meta-SGD's initial per-parameter rate.</summary>
    [JsonPropertyName("innerLearningRate")]
    public double InnerLearningRate { get; init; } = 0.01;

    /// <summary>Inner gradient steps per task during meta-training.</summary>
    [JsonPropertyName("innerSteps")]
    public int InnerSteps { get; init; } = 1;

    /// <summary>Adam step size of the outer (meta) update.</summary>
    [JsonPropertyName("outerLearningRate")]
    public double OuterLearningRate { get; init; } = 0.001;

    [JsonPropertyName("adamBeta1")]
    public double AdamBeta1 { get; init; } = 0.9;

    [JsonPropertyName("adamBeta2")]
    public double AdamBeta2 { get; init; } = 0.999;

    [JsonPropertyName("adamEpsilon")]
    public double AdamEpsilon { get; init; } = 1e-8;

    /// <summary>Gradient steps used when adapting to a new task and the caller does not say.</summary>
    [JsonPropertyName("adaptationSteps")]
    public int AdaptationSteps { get; init; } = 10;

    /// <summary>Initial inverse temperature of classification logits (distances and cosines are multiplied by it).</summary>
    [JsonPropertyName("initialLogitScale")]
    public double InitialLogitScale { get; init; } = 10.0;

    /// <summary>Sensible defaults per algorithm and task kind (see docs/benchmarks.md for how they were chosen).</summary>
    public static MetaLearningOptions DefaultsFor(MetaAlgorithm algorithm, TaskKind kind) => (algorithm, kind) switch
    {
        (MetaAlgorithm.Reptile, TaskKind.Regression) => new() { InnerLearningRate = 0.02, InnerSteps = 5, AdaptationSteps = 10 },
        (MetaAlgorithm.Reptile, TaskKind.Classification) => new() { InnerLearningRate = 0.1, InnerSteps = 5, AdaptationSteps = 10 },
        (_, TaskKind.Regression) => new() { InnerLearningRate = 0.01, InnerSteps = 1, AdaptationSteps = 10 },
        (_, TaskKind.Classification) => new() { InnerLearningRate = 0.1, InnerSteps = 1, AdaptationSteps = 5 },
        _ => new(),
    };

    public void Validate()
    {
        if (!(InnerLearningRate > 0 && InnerLearningRate <= Limits.MaxLearningRate))
        {
            throw new ArgumentException($"innerLearningRate must be in (0, {Limits.MaxLearningRate}].", nameof(InnerLearningRate));
        }

        if (InnerSteps is < 1 or > Limits.MaxAdaptationSteps)
        {
            throw new ArgumentException($"innerSteps must be between 1 and {Limits.MaxAdaptationSteps}.", nameof(InnerSteps));
        }

        if (!(OuterLearningRate > 0 && OuterLearningRate <= 1))
        {
            throw new ArgumentException("outerLearningRate must be in (0, 1].", nameof(OuterLearningRate));
        }

        if (AdaptationSteps is < 0 or > Limits.MaxAdaptationSteps)
        {
            throw new ArgumentException($"adaptationSteps must be between 0 and {Limits.MaxAdaptationSteps}.", nameof(AdaptationSteps));
        }

        if (!(InitialLogitScale > 0))
        {
            throw new ArgumentException("initialLogitScale must be positive.", nameof(InitialLogitScale));
        }
    }
}

/// <summary>What a caller may choose when adapting to a new task.</summary>
public sealed record AdaptationOptions(int? Steps = null, double? LearningRate = null)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the field out of its documented bounds.</summary>
    public void Validate()
    {
        if (Steps is { } steps && steps is < 0 or > Limits.MaxAdaptationSteps)
        {
            throw new ArgumentException($"steps must be between 0 and {Limits.MaxAdaptationSteps}, got {steps}.", "steps");
        }

        if (LearningRate is { } lr && !(lr >= Limits.MinLearningRate && lr <= Limits.MaxLearningRate))
        {
            throw new ArgumentException($"learningRate must be between {Limits.MinLearningRate} and {Limits.MaxLearningRate}, got {lr}.", "learningRate");
        }
    }
}
