using ServerlessMeta.Learning.Data;
using static TorchSharp.torch;

namespace ServerlessMeta.Learning.Models;

/// <summary>
/// A network whose forward pass takes its parameters explicitly, so that inner loops can run it on
/// adapted ("fast") weights and differentiate through the adaptation.
/// </summary>
public interface IFunctionalNetwork
{
    IReadOnlyList<ParameterSpec> Parameters { get; }

    /// <summary>Width of the output.</summary>
    int OutputDimension { get; }

    /// <summary>Initial values, drawn only from <paramref name="random"/> (deterministic).</summary>
    IReadOnlyList<(string Name, TensorData Data)> Initialize(DeterministicRandom random);

    /// <summary>Forward pass of a batch <c>x</c> [n, input] with <paramref name="parameters"/> in <see cref="Parameters"/> order.</summary>
    Tensor Forward(Tensor x, IReadOnlyList<Tensor> parameters);
}

internal static class Init
{
    /// <summary>PyTorch's default for nn.Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.</summary>
    public static TensorData Uniform(DeterministicRandom random, long[] shape, int fanIn)
    {
        var bound = 1.0 / Math.Sqrt(fanIn);
        var count = shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)random.NextDouble(-bound, bound);
        }

        return new TensorData(shape, values);
    }

    public static TensorData Zeros(long[] shape) => new(shape, new float[shape.Aggregate(1L, (a, b) => a * b)]);

    public static TensorData Identity(int n)
    {
        var values = new float[n * n];
        for (var i = 0; i < n; i++)
        {
            values[(i * n) + i] = 1f;
        }

        return new TensorData([n, n], values);
    }
}
