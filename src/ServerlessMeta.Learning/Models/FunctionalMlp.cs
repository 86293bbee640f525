using ServerlessMeta.Learning.Data;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ServerlessMeta.Learning.Models;

/// <summary>A multilayer perceptron with ReLU between layers and explicit parameters (layer{i}.weight, layer{i}.bias).</summary>
public sealed class FunctionalMlp : IFunctionalNetwork
{
    private readonly int[] _widths;

    public FunctionalMlp(IReadOnlyList<int> widths)
    {
        ArgumentNullException.ThrowIfNull(widths);
        if (widths.Count < 2 || widths.Any(w => w <= 0))
        {
            throw new ArgumentException("An MLP needs at least an input and an output width, all positive.", nameof(widths));
        }

        _widths = [.. widths];
        Parameters = [.. Enumerable.Range(0, _widths.Length - 1).SelectMany(i => new[]
        {
            new ParameterSpec($"layer{i}.weight", [_widths[i + 1], _widths[i]]),
            new ParameterSpec($"layer{i}.bias", [_widths[i + 1]]),
        })];
    }

    public IReadOnlyList<int> Widths => _widths;

    public IReadOnlyList<ParameterSpec> Parameters { get; }

    public int OutputDimension => _widths[^1];

    public IReadOnlyList<(string Name, TensorData Data)> Initialize(DeterministicRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return [.. Parameters.Select((p, i) => (p.Name, Init.Uniform(random, p.Shape, _widths[i / 2])))];
    }

    public Tensor Forward(Tensor x, IReadOnlyList<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(parameters);
        var layers = _widths.Length - 1;
        var h = x;
        for (var i = 0; i < layers; i++)
        {
            h = F.linear(h, parameters[2 * i], parameters[(2 * i) + 1]);
            if (i < layers - 1)
            {
                h = F.relu(h);
            }
        }

        return h;
    }
}
