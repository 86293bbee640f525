namespace ServerlessMeta.Learning.Evaluation;

/// <summary>A mean with the half-width of its normal-approximation 95% confidence interval.</summary>
public readonly record struct MeanEstimate(double Mean, double Ci95, int Count)
{
    public static MeanEstimate Of(IReadOnlyCollection<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return new MeanEstimate(double.NaN, double.NaN, 0);
        }

        var mean = values.Average();
        if (values.Count == 1)
        {
            return new MeanEstimate(mean, double.NaN, 1);
        }

        var variance = values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1);
        return new MeanEstimate(mean, 1.96 * Math.Sqrt(variance / values.Count), values.Count);
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
