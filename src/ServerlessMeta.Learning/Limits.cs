namespace ServerlessMeta.Learning;

/// <summary>Documented bounds on what the engine accepts.</summary>
public static class Limits
{
    /// <summary>Most labels one category (one task) may have.</summary>
    public const int MaxLabels = 50;

    /// <summary>Fewest labels a classification task may have.</summary>
    public const int MinLabels = 2;

    /// <summary>Most adaptation steps one request may ask for.</summary>
    public const int MaxAdaptationSteps = 200;

    /// <summary>Bounds of an adaptation learning rate.</summary>
    public const double MinLearningRate = 1e-6;

    /// <inheritdoc cref="MinLearningRate"/>
    public const double MaxLearningRate = 10.0;
}
