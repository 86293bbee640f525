using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ServerlessMeta.Learning.Algorithms;

/// <summary>How an adapted classifier turns embeddings into label probabilities.</summary>
public enum HeadKind
{
    /// <summary>Regression output of the network itself.</summary>
    None,

    /// <summary>A linear layer (head.weight, head.bias), initialised from class prototypes and fine-tuned.</summary>
    Linear,

    /// <summary>Negative squared Euclidean distance to class means (head.prototypes), times a learned scale.</summary>
    Prototypes,

    /// <summary>Softmax attention by scaled cosine similarity over the embedded support set.</summary>
    Attention,
}

/// <summary>How one adaptation runs: steps, rate, and whether steps that raise the support loss are rejected.</summary>
internal readonly record struct AdaptationPlan(int Steps, double LearningRate, bool RejectAscent = true);

/// <summary>What an algorithm works on: the network, its task kind, the meta-parameters and hyperparameters.</summary>
internal sealed record MetaContext(IFunctionalNetwork Network, TaskKind Kind, NamedTensors Theta, MetaLearningOptions Options)
{
    public const string LogScaleName = "head.log_scale";

    public int NetworkParameterCount => Network.Parameters.Count;

    public IReadOnlyList<Tensor> NetworkParameters => [.. Theta.Tensors.Take(NetworkParameterCount)];

    public Tensor LogScale => Theta[LogScaleName];
}

/// <summary>
/// One algorithm's three operations: (a) a task's meta-gradient with respect to every meta-parameter,
/// (c) adaptation to a support set. The outer step (b) is shared: Adam on the mean meta-gradient.
/// Implementations are stateless; every tensor they create lives in the caller's dispose scope.
/// </summary>
internal abstract class AlgorithmCore
{
    public abstract MetaAlgorithm Kind { get; }

    public abstract HeadKind HeadFor(TaskKind kind);

    public static AlgorithmCore For(MetaAlgorithm algorithm) => algorithm switch
    {
        MetaAlgorithm.Maml => new Maml(),
        MetaAlgorithm.FoMaml => new FirstOrderMaml(),
        MetaAlgorithm.Reptile => new Reptile(),
        MetaAlgorithm.MetaSgd => new MetaSgd(),
        MetaAlgorithm.ProtoNet => new PrototypicalNetwork(),
        MetaAlgorithm.MatchingNet => new MatchingNetwork(),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    public virtual bool Supports(TaskKind kind) => true;

    /// <summary>Meta-parameters beyond the network's own.</summary>
    public virtual IEnumerable<(string Name, TensorData Data)> ExtraParameters(IFunctionalNetwork network, TaskKind kind, MetaLearningOptions options)
    {
        if (kind == TaskKind.Classification)
        {
            yield return (MetaContext.LogScaleName, new TensorData([1], [(float)Math.Log(options.InitialLogitScale)]));
        }
    }

    /// <summary>(a) The task's meta-gradient, aligned with <see cref="MetaContext.Theta"/>, and its loss.</summary>
    public abstract IReadOnlyList<Tensor> TaskGradient(MetaContext context, Episode episode, out double loss);

    /// <summary>(c) The adapted tensors (network parameters first, then the head's), in the caller's scope, and the gradient steps taken.</summary>
    public abstract IReadOnlyList<(string Name, Tensor Tensor)> Adapt(MetaContext context, TaskSet support, int ways, AdaptationPlan plan, out int stepsTaken);

    protected static Tensor Inputs(TaskSet set) => tensor(set.Features, [set.Count, set.Dimension]);

    protected static Tensor Targets(TaskSet set) => set.Kind == TaskKind.Regression
        ? tensor(set.Targets!, [set.Count, 1])
        : tensor(set.Classes!.Select(c => (long)c).ToArray(), [set.Count]);

    protected static Tensor OneHot(TaskSet set, int ways) => F.one_hot(Targets(set), ways).to(ScalarType.Float32);

    /// <summary>Mean embedding of each class: [ways, dim].</summary>
    protected static Tensor ClassMeans(Tensor embeddings, Tensor oneHot) =>
        oneHot.t().mm(embeddings) / oneHot.sum(dim: 0).unsqueeze(1);

    /// <summary>Squared Euclidean distances between rows of a [n, d] and rows of b [m, d]: [n, m].</summary>
    protected static Tensor SquaredDistances(Tensor a, Tensor b) =>
        TensorOps.Add(TensorOps.Subtract((a * a).sum(1, keepdim: true), TensorOps.Double(a.mm(b.t()))), (b * b).sum(1).unsqueeze(0));

    /// <summary>
    /// The logit scale of a prototype head for one task: the learned scale divided by the mean
    /// squared distance between the task's prototypes (treated as a constant). Distances are thus
    /// measured relative to how far apart the task's classes are, so logits neither saturate on
    /// widely spread raw features (which would freeze inner-loop gradients and make probabilities
    /// meaningless) nor vanish on tight ones, whatever the scale of the features.
    /// </summary>
    internal static Tensor PrototypeScale(Tensor prototypes, Tensor logScale)
    {
        var ways = prototypes.shape[0];
        Tensor spread;
        using (no_grad())
        {
            spread = TensorOps.ClampMin(TensorOps.Divide(TensorOps.ClampMin(SquaredDistances(prototypes, prototypes), 0).sum(), ways * (ways - 1)), 1e-8);
        }

        return logScale.exp() / spread;
    }

    protected static IReadOnlyList<Tensor> ZerosLike(IEnumerable<Tensor> tensors) => [.. tensors.Select(t => zeros_like(t))];
}

/// <summary>
/// Shared machinery of MAML, first-order MAML, Reptile and Meta-SGD: fast weights are the network's
/// parameters plus, for classification, a linear head initialised from the support set's class
/// prototypes (W = 2s·c, b = −s·‖c‖², as in Proto-MAML), so the head works for any number of labels
/// and starts as the nearest-prototype classifier.
/// </summary>
internal abstract class GradientBasedAlgorithm : AlgorithmCore
{
    public const string HeadWeightName = "head.weight";
    public const string HeadBiasName = "head.bias";

    public override HeadKind HeadFor(TaskKind kind) => kind == TaskKind.Regression ? HeadKind.None : HeadKind.Linear;

    /// <summary>Fast weights before any inner step. Differentiable: they are functions of θ; otherwise fresh leaves.</summary>
    protected static List<Tensor> InitialFastWeights(MetaContext context, TaskSet data, int ways, bool differentiable) =>
        InitialFastWeights(context, data, ways, differentiable, out _);

    /// <summary>
    /// As above; for classification with non-differentiable fast weights, <paramref name="headInit"/>
    /// holds the head's initial weight and bias still as functions of θ, so first-order methods can
    /// pass the head's gradient back through the prototype initialisation (first-order Proto-MAML).
    /// </summary>
    protected static List<Tensor> InitialFastWeights(MetaContext context, TaskSet data, int ways, bool differentiable, out (Tensor Weight, Tensor Bias)? headInit)
    {
        headInit = null;
        List<Tensor> body = differentiable
            ? [.. context.NetworkParameters]
            : [.. context.NetworkParameters.Select(p => p.detach().clone().requires_grad_(true))];
        if (context.Kind == TaskKind.Regression)
        {
            return body;
        }

        var embeddings = context.Network.Forward(Inputs(data), context.NetworkParameters);
        var prototypes = ClassMeans(embeddings, OneHot(data, ways));
        var scale = PrototypeScale(prototypes, context.LogScale);
        var weight = TensorOps.Double(scale * prototypes);
        var bias = -scale * (prototypes * prototypes).sum(1);
        if (!differentiable)
        {
            headInit = (weight, bias);
            weight = weight.detach().requires_grad_(true);
            bias = bias.detach().requires_grad_(true);
        }

        body.Add(weight);
        body.Add(bias);
        return body;
    }

    /// <summary>
    /// First-order meta-gradient of θ: <paramref name="networkGradients"/> for the network
    /// parameters, plus the head's gradient chained through its prototype initialisation (which
    /// also reaches the logit scale). Treats ∂(adapted head)/∂(initial head) as the identity.
    /// </summary>
    protected static List<Tensor> FirstOrderThetaGradient(MetaContext context, IReadOnlyList<Tensor> networkGradients, (Tensor Weight, Tensor Bias)? headInit, Tensor? headWeightGradient, Tensor? headBiasGradient)
    {
        var gradients = networkGradients.ToList();
        gradients.AddRange(ZerosLike(context.Theta.Tensors.Skip(context.NetworkParameterCount)));
        if (headInit is { } init && headWeightGradient is not null && headBiasGradient is not null)
        {
            var throughHead = autograd.grad([init.Weight, init.Bias], [.. context.Theta.Tensors], [headWeightGradient, headBiasGradient], allow_unused: true);
            for (var i = 0; i < gradients.Count; i++)
            {
                if (throughHead[i] is { } g && !g.IsInvalid)
                {
                    gradients[i] = TensorOps.Add(gradients[i], g);
                }
            }
        }

        return gradients;
    }

    protected static Tensor Output(MetaContext context, IReadOnlyList<Tensor> fast, Tensor inputs)
    {
        var output = context.Network.Forward(inputs, fast);
        return context.Kind == TaskKind.Regression
            ? output
            : F.linear(output, fast[context.NetworkParameterCount], fast[context.NetworkParameterCount + 1]);
    }

    protected static Tensor Loss(MetaContext context, IReadOnlyList<Tensor> fast, Tensor inputs, Tensor targets) =>
        context.Kind == TaskKind.Regression
            ? F.mse_loss(Output(context, fast, inputs), targets)
            : F.cross_entropy(Output(context, fast, inputs), targets);

    /// <summary>One gradient step on every fast weight: w ← w − lr·∇w (lr a scalar or a per-element tensor).</summary>
    protected static List<Tensor> InnerStep(List<Tensor> fast, Tensor loss, IReadOnlyList<Tensor> learningRates, bool createGraph)
    {
        var gradients = autograd.grad([loss], fast, retain_graph: createGraph, create_graph: createGraph);
        var next = new List<Tensor>(fast.Count);
        for (var i = 0; i < fast.Count; i++)
        {
            var updated = TensorOps.Subtract(fast[i], learningRates[i] * gradients[i]);
            next.Add(createGraph ? updated : updated.detach().requires_grad_(true));
        }

        return next;
    }

    /// <summary>
    /// The second-order meta-gradient (MAML, Meta-SGD): inner steps with <c>create_graph</c>, then the
    /// query loss differentiated back to every meta-parameter, through the steps and the rates.
    /// </summary>
    protected static IReadOnlyList<Tensor> SecondOrderGradient(MetaContext context, Episode episode, Func<int, double, IReadOnlyList<Tensor>> rates, out double loss)
    {
        var supportInputs = Inputs(episode.Support);
        var supportTargets = Targets(episode.Support);
        var fast = InitialFastWeights(context, episode.Support, episode.Ways, differentiable: true);
        var stepRates = rates(fast.Count, context.Options.InnerLearningRate);
        for (var step = 0; step < context.Options.InnerSteps; step++)
        {
            fast = InnerStep(fast, Loss(context, fast, supportInputs, supportTargets), stepRates, createGraph: true);
        }

        var queryLoss = Loss(context, fast, Inputs(episode.Query), Targets(episode.Query));
        loss = queryLoss.item<float>();
        return [.. autograd.grad([queryLoss], [.. context.Theta.Tensors])];
    }

    /// <summary>The same scalar rate for every fast weight.</summary>
    protected static IReadOnlyList<Tensor> ScalarRates(int count, double learningRate)
    {
        var rate = tensor((float)learningRate);
        return [.. Enumerable.Repeat(rate, count)];
    }

    protected virtual IReadOnlyList<Tensor> AdaptationRates(MetaContext context, int fastCount, double learningRate) =>
        ScalarRates(fastCount, learningRate);

    /// <summary>
    /// Gradient steps on the support set from the meta-learned start. With
    /// <see cref="AdaptationPlan.RejectAscent"/>, a step that would raise the support loss (or make
    /// it non-finite) is discarded and adaptation stops there: more steps than the model was
    /// meta-trained for (Meta-SGD's learned rates are tuned for its training steps) can never make
    /// the model worse on its own examples or produce NaN probabilities.
    /// </summary>
    public override IReadOnlyList<(string Name, Tensor Tensor)> Adapt(MetaContext context, TaskSet support, int ways, AdaptationPlan plan, out int stepsTaken)
    {
        var inputs = Inputs(support);
        var targets = Targets(support);
        var fast = InitialFastWeights(context, support, ways, differentiable: false);
        var rates = AdaptationRates(context, fast.Count, plan.LearningRate);
        var loss = Loss(context, fast, inputs, targets);
        var lossValue = loss.item<float>();
        stepsTaken = 0;
        for (var step = 0; step < plan.Steps; step++)
        {
            var next = InnerStep(fast, loss, rates, createGraph: false);
            var nextLoss = Loss(context, next, inputs, targets);
            var nextValue = nextLoss.item<float>();
            if (plan.RejectAscent && !(float.IsFinite(nextValue) && nextValue <= lossValue))
            {
                break;
            }

            (fast, loss, lossValue) = (next, nextLoss, nextValue);
            stepsTaken++;
        }

        var names = context.Network.Parameters.Select(p => p.Name).ToList();
        if (context.Kind == TaskKind.Classification)
        {
            names.Add(HeadWeightName);
            names.Add(HeadBiasName);
        }

        return [.. names.Zip(fast, (n, t) => (n, t.detach()))];
    }
}

/// <summary>MAML, second order: differentiates the query loss through the inner steps (create_graph).</summary>
internal sealed class Maml : GradientBasedAlgorithm
{
    public override MetaAlgorithm Kind => MetaAlgorithm.Maml;

    public override IReadOnlyList<Tensor> TaskGradient(MetaContext context, Episode episode, out double loss) =>
        SecondOrderGradient(context, episode, ScalarRates, out loss);
}

/// <summary>
/// First-order MAML: the inner steps are not differentiated; the meta-gradient of each network
/// parameter is the query-loss gradient at its adapted value, and for classification the head's
/// gradient also flows back through its prototype initialisation (first-order Proto-MAML).
/// </summary>
internal sealed class FirstOrderMaml : GradientBasedAlgorithm
{
    public override MetaAlgorithm Kind => MetaAlgorithm.FoMaml;

    public override IReadOnlyList<Tensor> TaskGradient(MetaContext context, Episode episode, out double loss)
    {
        var supportInputs = Inputs(episode.Support);
        var supportTargets = Targets(episode.Support);
        var fast = InitialFastWeights(context, episode.Support, episode.Ways, differentiable: false, out var headInit);
        var rates = ScalarRates(fast.Count, context.Options.InnerLearningRate);
        for (var step = 0; step < context.Options.InnerSteps; step++)
        {
            fast = InnerStep(fast, Loss(context, fast, supportInputs, supportTargets), rates, createGraph: false);
        }

        var queryLoss = Loss(context, fast, Inputs(episode.Query), Targets(episode.Query));
        loss = queryLoss.item<float>();
        var gradients = autograd.grad([queryLoss], fast);
        var n = context.NetworkParameterCount;
        return FirstOrderThetaGradient(
            context,
            [.. gradients.Take(n)],
            headInit,
            headInit is null ? null : gradients[n],
            headInit is null ? null : gradients[n + 1]);
    }
}

/// <summary>
/// Reptile: several plain SGD steps on the task's data, alternating support and query batches; the task's
/// pseudo-gradient is θ − φ, which Adam then follows (as the Reptile paper allows). For
/// classification the head's move is passed back through its prototype initialisation.
/// </summary>
internal sealed class Reptile : GradientBasedAlgorithm
{
    public override MetaAlgorithm Kind => MetaAlgorithm.Reptile;

    public override IReadOnlyList<Tensor> TaskGradient(MetaContext context, Episode episode, out double loss)
    {
        // Inner steps alternate between the support and the query batch. Reptile's meta-gradient owes
        // its "learn fast" term to the inner product of gradients of *different* minibatches of a task
        // (Nichol et al., section 5); repeated steps on one batch lose it.
        var all = TaskSet.Concat(episode.Support, episode.Query);
        var batches = new[] { (Inputs(episode.Support), Targets(episode.Support)), (Inputs(episode.Query), Targets(episode.Query)) };
        var fast = InitialFastWeights(context, all, episode.Ways, differentiable: false, out var headInit);
        var initial = fast.Select(f => f.detach()).ToList();
        var rates = ScalarRates(fast.Count, context.Options.InnerLearningRate);
        for (var step = 0; step < context.Options.InnerSteps; step++)
        {
            var (inputs, targets) = batches[step % 2];
            fast = InnerStep(fast, Loss(context, fast, inputs, targets), rates, createGraph: false);
        }

        using (no_grad())
        {
            loss = Loss(context, fast, Inputs(all), Targets(all)).item<float>();
        }

        // θ − φ for the network; the head's own move (initial − adapted) goes back through its prototype initialisation.
        var pseudo = initial.Zip(fast, (before, after) => TensorOps.Subtract(before, after.detach())).ToList();
        var n = context.NetworkParameterCount;
        return FirstOrderThetaGradient(
            context,
            [.. pseudo.Take(n)],
            headInit,
            headInit is null ? null : pseudo[n],
            headInit is null ? null : pseudo[n + 1]);
    }
}

/// <summary>
/// Meta-SGD: every network parameter has a learned inner learning rate of its own shape
/// (lr.{name}, initialised uniformly in [0.5, 2] × the inner rate), the classification head one
/// learned scalar rate (lr.head); the rates are meta-parameters trained through the inner step.
/// </summary>
internal sealed class MetaSgd : GradientBasedAlgorithm
{
    public const string HeadRateName = "lr.head";

    public override MetaAlgorithm Kind => MetaAlgorithm.MetaSgd;

    public override IEnumerable<(string Name, TensorData Data)> ExtraParameters(IFunctionalNetwork network, TaskKind kind, MetaLearningOptions options)
    {
        foreach (var extra in base.ExtraParameters(network, kind, options))
        {
            yield return extra;
        }

        // Deterministic from the layout, so a seed-free, reproducible start (Li et al. draw from U[0.005, 0.1]).
        var random = new DeterministicRandom(0x5E6Du);
        foreach (var spec in network.Parameters)
        {
            var values = new float[spec.ElementCount];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = (float)(options.InnerLearningRate * random.NextDouble(0.5, 2.0));
            }

            yield return ($"lr.{spec.Name}", new TensorData(spec.Shape, values));
        }

        if (kind == TaskKind.Classification)
        {
            yield return (HeadRateName, new TensorData([1], [(float)options.InnerLearningRate]));
        }
    }

    private static List<Tensor> LearnedRates(MetaContext context, int fastCount)
    {
        var rates = context.Network.Parameters.Select(p => context.Theta[$"lr.{p.Name}"]).ToList();
        while (rates.Count < fastCount)
        {
            rates.Add(context.Theta[HeadRateName]);
        }

        return rates;
    }

    protected override IReadOnlyList<Tensor> AdaptationRates(MetaContext context, int fastCount, double learningRate)
    {
        // The caller's rate scales the learned rates relative to the rate they were initialised around.
        var factor = learningRate / context.Options.InnerLearningRate;
        return [.. LearnedRates(context, fastCount).Select(r => TensorOps.Scale(r.detach(), factor))];
    }

    public override IReadOnlyList<Tensor> TaskGradient(MetaContext context, Episode episode, out double loss) =>
        SecondOrderGradient(context, episode, (count, _) => LearnedRates(context, count), out loss);
}

/// <summary>
/// Prototypical Networks: logits are −s·‖e(x) − c_k‖² with c_k the mean support embedding of class k
/// and s the learned scale relative to the prototypes' spread (<see cref="AlgorithmCore.PrototypeScale"/>).
/// </summary>
internal sealed class PrototypicalNetwork : AlgorithmCore
{
    public const string PrototypesName = "head.prototypes";
    public const string ScaleName = "head.scale";

    public override MetaAlgorithm Kind => MetaAlgorithm.ProtoNet;

    public override HeadKind HeadFor(TaskKind kind) => HeadKind.Prototypes;

    public override bool Supports(TaskKind kind) => kind == TaskKind.Classification;

    /// <summary>Logits −scale·‖e − c_k‖² for an effective (already normalised) scale.</summary>
    public static Tensor Logits(Tensor queryEmbeddings, Tensor prototypes, Tensor scale) =>
        -scale * SquaredDistances(queryEmbeddings, prototypes);

    public override IReadOnlyList<Tensor> TaskGradient(MetaContext context, Episode episode, out double loss)
    {
        var parameters = context.NetworkParameters;
        var prototypes = ClassMeans(context.Network.Forward(Inputs(episode.Support), parameters), OneHot(episode.Support, episode.Ways));
        var logits = Logits(context.Network.Forward(Inputs(episode.Query), parameters), prototypes, PrototypeScale(prototypes, context.LogScale));
        var queryLoss = F.cross_entropy(logits, Targets(episode.Query));
        loss = queryLoss.item<float>();
        return [.. autograd.grad([queryLoss], [.. context.Theta.Tensors])];
    }

    public override IReadOnlyList<(string Name, Tensor Tensor)> Adapt(MetaContext context, TaskSet support, int ways, AdaptationPlan plan, out int stepsTaken)
    {
        stepsTaken = 0;
        using var noGrad = no_grad();
        var parameters = context.NetworkParameters;
        var prototypes = ClassMeans(context.Network.Forward(Inputs(support), parameters), OneHot(support, ways));
        return
        [
            .. context.Network.Parameters.Zip(parameters, (s, p) => (s.Name, p.detach().clone())),
            (PrototypesName, prototypes),
            (ScaleName, PrototypeScale(prototypes, context.LogScale).reshape(1)),
        ];
    }
}

/// <summary>
/// Matching Networks (without full-context embeddings): p(y | x) = Σᵢ softmaxᵢ(s·cos(e(x), e(xᵢ))) · onehot(yᵢ)
/// over the support set.
/// </summary>
internal sealed class MatchingNetwork : AlgorithmCore
{
    public const string SupportName = "head.support";
    public const string SupportLabelsName = "head.support_labels";

    public override MetaAlgorithm Kind => MetaAlgorithm.MatchingNet;

    public override HeadKind HeadFor(TaskKind kind) => HeadKind.Attention;

    public override bool Supports(TaskKind kind) => kind == TaskKind.Classification;

    /// <summary>Label probabilities [n, ways] from normalised query and support embeddings.</summary>
    public static Tensor Probabilities(Tensor normalizedQuery, Tensor normalizedSupport, Tensor supportOneHot, Tensor logScale)
    {
        var attention = F.softmax(logScale.exp() * normalizedQuery.mm(normalizedSupport.t()), 1);
        return attention.mm(supportOneHot);
    }

    public static Tensor Normalize(Tensor embeddings) => F.normalize(embeddings, p: 2, dim: 1, eps: 1e-8);

    public override IReadOnlyList<Tensor> TaskGradient(MetaContext context, Episode episode, out double loss)
    {
        var parameters = context.NetworkParameters;
        var support = Normalize(context.Network.Forward(Inputs(episode.Support), parameters));
        var query = Normalize(context.Network.Forward(Inputs(episode.Query), parameters));
        var probabilities = Probabilities(query, support, OneHot(episode.Support, episode.Ways), context.LogScale);
        var queryLoss = F.nll_loss(TensorOps.ClampMin(probabilities, 1e-12).log(), Targets(episode.Query));
        loss = queryLoss.item<float>();
        return [.. autograd.grad([queryLoss], [.. context.Theta.Tensors])];
    }

    public override IReadOnlyList<(string Name, Tensor Tensor)> Adapt(MetaContext context, TaskSet support, int ways, AdaptationPlan plan, out int stepsTaken)
    {
        stepsTaken = 0;
        using var noGrad = no_grad();
        var parameters = context.NetworkParameters;
        return
        [
            .. context.Network.Parameters.Zip(parameters, (s, p) => (s.Name, p.detach().clone())),
            (SupportName, Normalize(context.Network.Forward(Inputs(support), parameters))),
            (SupportLabelsName, OneHot(support, ways)),
            (MetaContext.LogScaleName, context.LogScale.detach().clone()),
        ];
    }
}
