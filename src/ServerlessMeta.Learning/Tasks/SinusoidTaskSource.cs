using ServerlessMeta.Learning.Data;

namespace ServerlessMeta.Learning.Tasks;

/// <summary>
/// The sinusoid regression family of Finn et al. (2017), section 5.1: y = A sin(x - phase) with
/// amplitude A ~ U[0.1, 5], phase ~ U[0, pi], inputs x ~ U[-5, 5].
/// </summary>
public sealed class SinusoidTaskSource(int shots, int querySize) : ITaskSource
{
    public const double MinAmplitude = 0.1;
    public const double MaxAmplitude = 5.0;
    public const double MinX = -5.0;
    public const double MaxX = 5.0;

    public int Shots { get; } = shots > 0 ? shots : throw new ArgumentOutOfRangeException(nameof(shots));

    public int QuerySize { get; } = querySize > 0 ? querySize : throw new ArgumentOutOfRangeException(nameof(querySize));

    public TaskKind Kind => TaskKind.Regression;

    public int Dimension => 1;

    public Episode Sample(DeterministicRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var amplitude = random.NextDouble(MinAmplitude, MaxAmplitude);
        var phase = random.NextDouble(0, Math.PI);
        return new Episode(Points(random, amplitude, phase, Shots), Points(random, amplitude, phase, QuerySize), 0);
    }

    private static TaskSet Points(DeterministicRandom random, double amplitude, double phase, int count)
    {
        var x = new float[count];
        var y = new float[count];
        for (var i = 0; i < count; i++)
        {
            var xi = random.NextDouble(MinX, MaxX);
            x[i] = (float)xi;
            y[i] = (float)(amplitude * Math.Sin(xi - phase));
        }

        return TaskSet.ForRegression(x, 1, y);
    }
}
