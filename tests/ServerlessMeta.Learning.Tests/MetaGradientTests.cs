using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Learning.Tests;

public class MetaGradientTests
{
    private static readonly MetaLearningOptions HighInnerRate = new() { InnerLearningRate = 0.2, InnerSteps = 2 };

    private static Episode TinyTask() => TestData.SinusoidTasks(1, seed: 42, shots: 5, queries: 5)[0];

    /// <summary>MAML's query loss as a function of θ, evaluated without autograd tricks: adapt by hand, then measure.</summary>
    private static double PostAdaptationQueryLoss(MetaModel model, Episode task)
    {
        // Adapt with exactly the training inner loop (same steps and rate) and compute query MSE.
        using var adapted = model.Adapt(task.Support, null, new AdaptationOptions(model.Options.InnerSteps, model.Options.InnerLearningRate), rejectAscent: false);
        var predictions = adapted.Predict(task.Query.Features, task.Query.Count);
        return predictions.Zip(task.Query.Targets!, (p, t) => (double)(p - t) * (p - t)).Average();
    }

    [Fact]
    public void SecondOrderMetaGradientMatchesFiniteDifferences()
    {
        using var model = MetaModel.Create(MetaAlgorithm.Maml, TestData.Sinusoid(hidden: 4), HighInnerRate, seed: 7);
        var task = TinyTask();
        var gradient = model.ComputeTaskUpdate(task);
        var checkedCount = 0;
        for (var p = 0; p < model.Parameters.Count; p++)
        {
            var tensor = model.Parameters.Tensors[p];
            var count = (int)tensor.numel();
            for (var i = 0; i < count; i += Math.Max(1, count / 3))
            {
                var numeric = CentralDifference(model, task, tensor, i, 2e-3f);
                var halfStep = CentralDifference(model, task, tensor, i, 1e-3f);
                if (Math.Abs(numeric - halfStep) > 0.01 * Math.Max(1, Math.Abs(numeric)))
                {
                    continue; // a ReLU kink lies within ±ε: finite differences are meaningless there
                }

                var analytic = gradient.Sums[p][i];
                Assert.True(Math.Abs(numeric - analytic) <= 0.005 + (0.02 * Math.Abs(numeric)),
                    $"{model.Parameters.Names[p]}[{i}]: finite differences {numeric:F5}, MAML {analytic:F5}");
                checkedCount++;
            }
        }

        Assert.True(checkedCount >= 10, $"only {checkedCount} coordinates were smooth enough to check");
    }

    private static double CentralDifference(MetaModel model, Episode task, TorchSharp.torch.Tensor tensor, int i, float epsilon)
    {
        var original = Get(tensor, i);
        Set(tensor, i, original + epsilon);
        var plus = PostAdaptationQueryLoss(model, task);
        Set(tensor, i, original - epsilon);
        var minus = PostAdaptationQueryLoss(model, task);
        Set(tensor, i, original);
        return (plus - minus) / (2 * epsilon);
    }

    [Fact]
    public void FirstOrderIsTheQueryGradientAtTheAdaptedWeightsAndDiffersFromSecondOrder()
    {
        using var maml = MetaModel.Create(MetaAlgorithm.Maml, TestData.Sinusoid(hidden: 8), HighInnerRate, seed: 7);
        using var fomaml = MetaModel.Create(MetaAlgorithm.FoMaml, TestData.Sinusoid(hidden: 8), HighInnerRate, seed: 7);
        var task = TinyTask();
        var second = maml.ComputeTaskUpdate(task).Sums.SelectMany(s => s).ToArray();
        var first = fomaml.ComputeTaskUpdate(task).Sums.SelectMany(s => s).ToArray();

        // First-order = gradient of the query loss w.r.t. the adapted weights φ: check by finite differences on φ.
        using var adapted = fomaml.Adapt(task.Support, null, new AdaptationOptions(HighInnerRate.InnerSteps, HighInnerRate.InnerLearningRate), rejectAscent: false);
        var offset = 0;
        for (var p = 0; p < adapted.Tensors.Count; p++)
        {
            var tensor = adapted.Tensors.Tensors[p];
            var count = (int)tensor.numel();
            for (var i = 0; i < count; i += Math.Max(1, count / 2))
            {
                var original = Get(tensor, i);
                Set(tensor, i, original + 1e-2f);
                var plus = QueryLoss(adapted, task);
                Set(tensor, i, original - 1e-2f);
                var minus = QueryLoss(adapted, task);
                Set(tensor, i, original);
                var numeric = (plus - minus) / 2e-2;
                Assert.True(Math.Abs(numeric - first[offset + i]) <= 0.02 + (0.03 * Math.Abs(numeric)), $"φ {p}[{i}]: {numeric} vs {first[offset + i]}");
            }

            offset += count;
        }

        // The Hessian terms MAML keeps make a real difference with a large inner step.
        var difference = Math.Sqrt(first.Zip(second, (a, b) => (double)(a - b) * (a - b)).Sum());
        var norm = Math.Sqrt(second.Sum(v => (double)v * v));
        Assert.True(difference > 0.05 * norm, $"first and second order differ by only {difference / norm:P2}");
    }

    [Fact]
    public void ReptileUpdateIsTheDifferenceBetweenInitialAndAdaptedWeights()
    {
        var options = new MetaLearningOptions { InnerLearningRate = 0.05, InnerSteps = 3 };
        using var model = MetaModel.Create(MetaAlgorithm.Reptile, TestData.Sinusoid(hidden: 8), options, seed: 3);
        var task = TinyTask();
        var update = model.ComputeTaskUpdate(task);

        // φ by hand: SGD steps alternating support, query, support.
        using var scope = TorchSharp.torch.NewDisposeScope();
        var network = new Models.FunctionalMlp([1, 8, 8, 1]);
        var fast = model.Parameters.Tensors.Select(t => t.detach().clone().requires_grad_(true)).ToList();
        for (var step = 0; step < 3; step++)
        {
            var batch = step % 2 == 0 ? task.Support : task.Query;
            var x = TorchSharp.torch.tensor(batch.Features, [batch.Count, 1]);
            var y = TorchSharp.torch.tensor(batch.Targets!, [batch.Count, 1]);
            var loss = TorchSharp.torch.nn.functional.mse_loss(network.Forward(x, fast), y);
            var gradients = TorchSharp.torch.autograd.grad([loss], fast);
            fast = [.. fast.Zip(gradients, (w, g) => (w - (0.05f * g)).detach().requires_grad_(true))];
        }

        var theta = TestData.Flatten(model);
        var phi = fast.SelectMany(t => t.data<float>().ToArray()).ToArray();
        var pseudo = update.Sums.SelectMany(s => s).ToArray();
        for (var i = 0; i < theta.Length; i++)
        {
            Assert.Equal(theta[i] - phi[i], pseudo[i], 5);
        }
    }

    [Fact]
    public void MetaSgdLearnsItsInnerLearningRates()
    {
        using var model = MetaModel.Create(MetaAlgorithm.MetaSgd, TestData.Sinusoid(hidden: 8), seed: 3);
        Assert.Contains("lr.layer0.weight", model.Parameters.Names);
        var update = model.ComputeUpdate(TestData.SinusoidTasks(5, seed: 9));
        var rateIndex = model.Parameters.Names.ToList().IndexOf("lr.layer0.weight");
        Assert.Contains(update.Sums[rateIndex], g => Math.Abs(g) > 1e-6);
        var before = model.Parameters["lr.layer0.weight"].data<float>().ToArray();
        model.ApplyUpdate(update);
        Assert.NotEqual(before, model.Parameters["lr.layer0.weight"].data<float>().ToArray());
    }

    private static double QueryLoss(AdaptedModel adapted, Episode task)
    {
        var predictions = adapted.Predict(task.Query.Features, task.Query.Count);
        return predictions.Zip(task.Query.Targets!, (p, t) => (double)(p - t) * (p - t)).Average();
    }

    private static float Get(TorchSharp.torch.Tensor t, int i)
    {
        using var flat = t.detach().view(-1);
        return flat[i].item<float>();
    }

    private static void Set(TorchSharp.torch.Tensor t, int i, float value)
    {
        using var noGrad = TorchSharp.torch.no_grad();
        using var flat = t.view(-1);
        using var element = flat[i];
        element.fill_(value);
    }
}

public class AdaptationSafetyTests
{
    [Fact]
    public void StepsThatWouldRaiseTheSupportLossAreRejected()
    {
        using var model = MetaModel.Create(MetaAlgorithm.MetaSgd, TestData.Sinusoid(hidden: 16), seed: 3);
        var task = TestData.SinusoidTasks(1, seed: 5)[0];
        // 300× the learned rates: plain gradient steps at that size overshoot and blow up.
        var reckless = new AdaptationOptions(Steps: 10, LearningRate: 3.0);
        using var unguarded = model.Adapt(task.Support, null, reckless, rejectAscent: false);
        var raw = unguarded.Predict(task.Support.Features, task.Support.Count);
        using var guarded = model.Adapt(task.Support, null, reckless);
        var safe = guarded.Predict(task.Support.Features, task.Support.Count);
        using var untouched = model.Adapt(task.Support, null, new AdaptationOptions(Steps: 0));
        var start = untouched.Predict(task.Support.Features, task.Support.Count);

        double Mse(float[] p) => p.Zip(task.Support.Targets!, (a, b) => (double)(a - b) * (a - b)).Average();
        Assert.True(!double.IsFinite(Mse(raw)) || Mse(raw) > Mse(start), "the unguarded steps were expected to diverge");
        Assert.True(double.IsFinite(Mse(safe)) && Mse(safe) <= Mse(start));
        Assert.True(guarded.AdaptationSteps < 10);
    }
}
