using ServerlessMeta.Learning.Data;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ServerlessMeta.Learning.Models;

/// <summary>
/// The embedding used by every classifier: e(x) = x Aᵀ + W₂ relu(W₁ x + b₁), output width = input width.
/// It starts feature-preserving (A = I, W₂ = 0), so before meta-training it is exactly the raw
/// featurization and distance-based heads reduce to nearest centroid on raw features. Meta-training
/// can then learn a linear metric (A) and a non-linear correction, and early stopping on held-out
/// categories keeps it from ending worse than where it started.
/// </summary>
public sealed class EmbeddingNetwork : IFunctionalNetwork
{
    public EmbeddingNetwork(int inputDimension, int hiddenWidth)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputDimension);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hiddenWidth);
        InputDimension = inputDimension;
        HiddenWidth = hiddenWidth;
        Parameters =
        [
            new ParameterSpec("embed.linear.weight", [inputDimension, inputDimension]),
            new ParameterSpec("embed.hidden.weight", [hiddenWidth, inputDimension]),
            new ParameterSpec("embed.hidden.bias", [hiddenWidth]),
            new ParameterSpec("embed.out.weight", [inputDimension, hiddenWidth]),
        ];
    }

    public int InputDimension { get; }

    public int HiddenWidth { get; }

    public IReadOnlyList<ParameterSpec> Parameters { get; }

    public int OutputDimension => InputDimension;

    public IReadOnlyList<(string Name, TensorData Data)> Initialize(DeterministicRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return
        [
            (Parameters[0].Name, Init.Identity(InputDimension)),
            (Parameters[1].Name, Init.Uniform(random, Parameters[1].Shape, InputDimension)),
            (Parameters[2].Name, Init.Uniform(random, Parameters[2].Shape, InputDimension)),
            (Parameters[3].Name, Init.Zeros(Parameters[3].Shape)),
        ];
    }

    /// <summary>A conventionally initialised copy (A and W₂ random too): the "trained from scratch" baseline.</summary>
    public IReadOnlyList<(string Name, TensorData Data)> InitializeRandom(DeterministicRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return
        [
            (Parameters[0].Name, Init.Uniform(random, Parameters[0].Shape, InputDimension)),
            (Parameters[1].Name, Init.Uniform(random, Parameters[1].Shape, InputDimension)),
            (Parameters[2].Name, Init.Uniform(random, Parameters[2].Shape, InputDimension)),
            (Parameters[3].Name, Init.Uniform(random, Parameters[3].Shape, HiddenWidth)),
        ];
    }

    public Tensor Forward(Tensor x, IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(parameters);
        var linear = F.linear(x, parameters[0]);
        var hidden = F.relu(F.linear(x, parameters[1], parameters[2]));
        return TensorOps.Add(linear, F.linear(hidden, parameters[3]));
    }
}
