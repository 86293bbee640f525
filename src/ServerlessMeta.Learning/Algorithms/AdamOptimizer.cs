using ServerlessMeta.Learning.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ServerlessMeta.Learning.Algorithms;

/// <summary>
/// Adam (Kingma and Ba, 2015) with exactly PyTorch's update rule (torch.optim.Adam, no weight
/// decay, no amsgrad), over explicitly owned state so that it can be checkpointed with the model:
/// the first and second moments per parameter and the step count.
/// </summary>
public sealed class AdamOptimizer : IDisposable
{
    private AdamOptimizer(NamedTensors firstMoments, NamedTensors secondMoments, long step)
    {
        FirstMoments = firstMoments;
        SecondMoments = secondMoments;
        Step = step;
    }

    public NamedTensors FirstMoments { get; }

    public NamedTensors SecondMoments { get; }

    /// <summary>Number of updates applied so far.</summary>
    public long Step { get; internal set; }

    public static AdamOptimizer Create(NamedTensors parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return new AdamOptimizer(
            new NamedTensors(parameters.Names.Zip(parameters.Tensors, (n, t) => (n, zeros_like(t).requires_grad_(false)))),
            new NamedTensors(parameters.Names.Zip(parameters.Tensors, (n, t) => (n, zeros_like(t).requires_grad_(false)))),
            0);
    }

    public static AdamOptimizer Restore(NamedTensors firstMoments, NamedTensors secondMoments, long step) =>
        new(firstMoments, secondMoments, step);

    /// <summary>Applies one step with gradient <paramref name="gradients"/> (one array per parameter, in order).</summary>
    public void Apply(NamedTensors parameters, IReadOnlyList<float[]> gradients, double learningRate, double beta1, double beta2, double epsilon)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(gradients);
        if (gradients.Count != parameters.Count)
        {
            throw new ArgumentException($"Expected {parameters.Count} gradients, got {gradients.Count}.", nameof(gradients));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Step++;
        var biasCorrection1 = 1 - Math.Pow(beta1, Step);
        var biasCorrection2 = 1 - Math.Pow(beta2, Step);
        var stepSize = learningRate / biasCorrection1;
        var biasCorrection2Sqrt = Math.Sqrt(biasCorrection2);
        // Scalars held in locals until the loop ends (see TensorOps for why).
        using var secondDecay = beta2.ToScalar();
        using var secondWeight = (1 - beta2).ToScalar();
        using var epsilonScalar = epsilon.ToScalar();
        using var negativeStepSize = (-stepSize).ToScalar();
        for (var p = 0; p < parameters.Count; p++)
        {
            var parameter = parameters.Tensors[p];
            if (gradients[p].Length != parameter.numel())
            {
                throw new ArgumentException($"Gradient of '{parameters.Names[p]}' has {gradients[p].Length} values; {parameter.numel()} expected.", nameof(gradients));
            }

            var grad = tensor(gradients[p], parameter.shape);
            var m = FirstMoments.Tensors[p];
            var v = SecondMoments.Tensors[p];
            m.lerp_(grad, 1 - beta1); // a tensor weight: registered in this dispose scope, so kept alive
            v.mul_(secondDecay).addcmul_(grad, grad, secondWeight);
            var denominator = TensorOps.Divide(v.sqrt(), biasCorrection2Sqrt).add_(epsilonScalar);
            parameter.addcdiv_(m, denominator, negativeStepSize);
        }
    }

    public void Dispose()
    {
        FirstMoments.Dispose();
        SecondMoments.Dispose();
    }
}
