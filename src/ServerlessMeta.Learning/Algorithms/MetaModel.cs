using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Featurization.Text;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Serialization;
using ServerlessMeta.Learning.Tasks;
using static TorchSharp.torch;

namespace ServerlessMeta.Learning.Algorithms;

/// <summary>
/// A meta-learned initialisation: the algorithm, the network, its meta-parameters and the outer
/// optimizer's state. The three operations distributed training is built from:
/// <list type="bullet">
/// <item>(a) <see cref="ComputeUpdate"/>: the summed meta-update of some tasks, as plain arrays;</item>
/// <item>(b) <see cref="ApplyUpdate"/>: one Adam step with a (possibly cross-process) summed update;</item>
/// <item>(c) <see cref="Adapt(TaskSet, IReadOnlyList{string}?, AdaptationOptions?)"/>: a model for a new task from its support set.</item>
/// </list>
/// (a) and (c) may run concurrently on several threads; (b) must not overlap them.
/// </summary>
public sealed class MetaModel : IDisposable
{
    private readonly AlgorithmCore _core;
    private readonly IFunctionalNetwork _network;
    private bool _disposed;

    private MetaModel(MetaAlgorithm algorithm, ModelConfig model, MetaLearningOptions options, FeaturizerOptions? featurizer, NamedTensors parameters, AdamOptimizer optimizer)
    {
        Algorithm = algorithm;
        Model = model;
        Options = options;
        Featurizer = featurizer;
        Parameters = parameters;
        Optimizer = optimizer;
        _core = AlgorithmCore.For(algorithm);
        _network = model.CreateNetwork();
    }

    public MetaAlgorithm Algorithm { get; }

    public ModelConfig Model { get; }

    public MetaLearningOptions Options { get; }

    /// <summary>How raw items are featurized for this model (null for models trained on raw vectors, e.g. sinusoid).</summary>
    public FeaturizerOptions? Featurizer { get; }

    /// <summary>The meta-parameters θ (network first, then algorithm-specific ones such as Meta-SGD's rates).</summary>
    public NamedTensors Parameters { get; }

    public AdamOptimizer Optimizer { get; }

    public HeadKind Head => _core.HeadFor(Model.TaskKind);

    private MetaContext Context => new(_network, Model.TaskKind, Parameters, Options);

    /// <summary>A fresh meta-model; its initial weights depend only on <paramref name="seed"/>.</summary>
    public static MetaModel Create(MetaAlgorithm algorithm, ModelConfig model, MetaLearningOptions? options = null, FeaturizerOptions? featurizer = null, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.Validate();
        options ??= MetaLearningOptions.DefaultsFor(algorithm, model.TaskKind);
        options.Validate();
        featurizer?.Validate();
        if (featurizer is not null && featurizer.OutputDimension != model.InputDimension)
        {
            throw new ArgumentException($"The featurizer produces {featurizer.OutputDimension} values but the model takes {model.InputDimension}.", nameof(featurizer));
        }

        var core = AlgorithmCore.For(algorithm);
        if (!core.Supports(model.TaskKind))
        {
            throw new ArgumentException($"{algorithm.ToWireName()} does not support {model.TaskKind.ToString().ToLowerInvariant()}.", nameof(model));
        }

        var network = model.CreateNetwork();
        var initial = network.Initialize(new DeterministicRandom((ulong)seed)).Concat(core.ExtraParameters(network, model.TaskKind, options));
        var parameters = NamedTensors.FromData(initial, requiresGrad: true);
        return new MetaModel(algorithm, model, options, featurizer, parameters, AdamOptimizer.Create(parameters));
    }

    /// <summary>(a) The summed meta-update of <paramref name="tasks"/>, computed on up to <paramref name="maxParallelism"/> threads and summed in task order.</summary>
    public MetaUpdate ComputeUpdate(IReadOnlyList<Episode> tasks, int maxParallelism = 1)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (tasks.Count == 0)
        {
            throw new ArgumentException("At least one task is needed.", nameof(tasks));
        }

        var perTask = new MetaUpdate[tasks.Count];
        if (maxParallelism <= 1 || tasks.Count == 1)
        {
            for (var i = 0; i < tasks.Count; i++)
            {
                perTask[i] = ComputeTaskUpdate(tasks[i]);
            }
        }
        else
        {
            Parallel.For(0, tasks.Count, new ParallelOptions { MaxDegreeOfParallelism = maxParallelism }, i => perTask[i] = ComputeTaskUpdate(tasks[i]));
        }

        return MetaUpdate.Sum(perTask);
    }

    /// <summary>(a) for one task.</summary>
    public MetaUpdate ComputeTaskUpdate(Episode task)
    {
        ArgumentNullException.ThrowIfNull(task);
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckTask(task);
        using var scope = NewDisposeScope();
        var gradients = _core.TaskGradient(Context, task, out var loss);
        var sums = gradients.Select(g => g.detach().contiguous().data<float>().ToArray()).ToArray();
        return new MetaUpdate(Parameters.Names, sums, 1, loss);
    }

    /// <summary>(b) One outer Adam step with the mean of a summed update.</summary>
    public void ApplyUpdate(MetaUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!update.Names.SequenceEqual(Parameters.Names, StringComparer.Ordinal))
        {
            throw new ArgumentException("The update belongs to a model with other parameters.", nameof(update));
        }

        if (update.TaskCount <= 0)
        {
            throw new ArgumentException("The update covers no task.", nameof(update));
        }

        var scale = 1f / update.TaskCount;
        var mean = update.Sums.Select(s => s.Select(v => v * scale).ToArray()).ToArray();
        Optimizer.Apply(Parameters, mean, Options.OuterLearningRate, Options.AdamBeta1, Options.AdamBeta2, Options.AdamEpsilon);
    }

    /// <summary>
    /// (c) A model adapted to a new task. For classification, <paramref name="support"/> holds class
    /// indices into <paramref name="labels"/>; every label needs at least one example.
    /// </summary>
    public AdaptedModel Adapt(TaskSet support, IReadOnlyList<string>? labels, AdaptationOptions? options = null) =>
        Adapt(support, labels, options, rejectAscent: true);

    /// <summary>(c) with the ascent guard switchable: tests use the raw inner loop to check gradients.</summary>
    internal AdaptedModel Adapt(TaskSet support, IReadOnlyList<string>? labels, AdaptationOptions? options, bool rejectAscent)
    {
        ArgumentNullException.ThrowIfNull(support);
        ObjectDisposedException.ThrowIf(_disposed, this);
        options ??= new AdaptationOptions();
        options.Validate();
        var ways = CheckSupport(support, labels);
        var steps = options.Steps ?? Options.AdaptationSteps;
        var learningRate = options.LearningRate ?? Options.InnerLearningRate;
        using var scope = NewDisposeScope();
        var adapted = _core.Adapt(Context, support, ways, new AdaptationPlan(steps, learningRate, rejectAscent), out var stepsTaken);
        var tensors = new NamedTensors(adapted.Select(a => (a.Name, a.Tensor.detach().clone().requires_grad_(false))));
        return new AdaptedModel(Algorithm, Model, Head, Featurizer, labels, tensors, stepsTaken, learningRate);
    }

    /// <summary>Convenience for (c) from labelled catalogue items, featurized with this model's featurizer.</summary>
    public AdaptedModel Adapt(IReadOnlyList<LabelledItem> examples, AdaptationOptions? options = null, ITextEncoder? encoder = null)
    {
        var featurizer = new Featurizer(Featurizer ?? throw new InvalidOperationException("This meta-model has no featurizer; adapt it on featurized sets."), encoder);
        var support = SupportSet.Create(featurizer, examples);
        return Adapt(support.Set, support.Labels, options);
    }

    /// <summary>Overwrites this model's meta-parameters and optimizer state with another's (same layout).</summary>
    public void CopyStateFrom(MetaModel other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Parameters.CopyFrom(other.Parameters);
        Optimizer.FirstMoments.CopyFrom(other.Optimizer.FirstMoments);
        Optimizer.SecondMoments.CopyFrom(other.Optimizer.SecondMoments);
        Optimizer.Step = other.Optimizer.Step;
    }

    public MetaModel Clone() => FromFile(ToFile());

    public ModelFile ToFile(IReadOnlyDictionary<string, string>? metadata = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var parameters = Parameters.ToData();
        var first = Optimizer.FirstMoments.ToData();
        var second = Optimizer.SecondMoments.ToData();
        var entries = parameters.Select(p => ("param." + p.Name, p.Data))
            .Concat(first.Select(p => ("adam.m." + p.Name, p.Data)))
            .Concat(second.Select(p => ("adam.v." + p.Name, p.Data)))
            .ToList();
        var header = new ModelHeader
        {
            Kind = ModelFileKind.MetaModel,
            Algorithm = Algorithm,
            Model = Model,
            Options = Options,
            Featurizer = Featurizer,
            OptimizerStep = Optimizer.Step,
            Metadata = metadata ?? new Dictionary<string, string>(),
            Tensors = [.. entries.Select(e => new TensorEntry(e.Item1, e.Data.Shape))],
        };
        return new ModelFile(header, [.. entries.Select(e => e.Data)]);
    }

    public static MetaModel FromFile(ModelFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var header = file.Header;
        if (header.Kind != ModelFileKind.MetaModel)
        {
            throw new ModelFormatException($"Expected a meta-model file, found an {header.Kind} file.");
        }

        try
        {
            // Build the expected layout and check every tensor against it, so a mismatched file fails here, not mid-training.
            using var template = Create(header.Algorithm, header.Model, header.Options, header.Featurizer, 0);
            var parameters = file.Group("param.");
            var first = file.Group("adam.m.");
            var second = file.Group("adam.v.");
            foreach (var group in new[] { parameters, first, second })
            {
                if (!group.Select(g => g.Name).SequenceEqual(template.Parameters.Names) ||
                    !group.Zip(template.Parameters.Tensors, (g, t) => g.Data.Shape.SequenceEqual(t.shape)).All(ok => ok))
                {
                    throw new ModelFormatException("The meta-model file's tensors do not match its algorithm and model configuration.");
                }
            }

            var model = new MetaModel(
                header.Algorithm,
                header.Model,
                header.Options,
                header.Featurizer,
                NamedTensors.FromData(parameters, requiresGrad: true),
                AdamOptimizer.Restore(NamedTensors.FromData(first, false), NamedTensors.FromData(second, false), header.OptimizerStep));
            return model;
        }
        catch (ArgumentException ex)
        {
            throw new ModelFormatException($"The meta-model file's header is inconsistent: {ex.Message}", ex);
        }
    }

    public void Save(Stream stream, IReadOnlyDictionary<string, string>? metadata = null) => ToFile(metadata).WriteTo(stream);

    public static MetaModel Load(Stream stream) => FromFile(ModelFile.ReadFrom(stream));

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Parameters.Dispose();
        Optimizer.Dispose();
    }

    private void CheckTask(Episode task)
    {
        if (task.Kind != Model.TaskKind)
        {
            throw new ArgumentException($"A {task.Kind} task cannot train a {Model.TaskKind} model.", nameof(task));
        }

        CheckSupport(task.Support, null, task.Ways);
        if (task.Query.Dimension != Model.InputDimension)
        {
            throw new ArgumentException($"Query examples have {task.Query.Dimension} features; the model expects {Model.InputDimension}.", nameof(task));
        }
    }

    private int CheckSupport(TaskSet support, IReadOnlyList<string>? labels, int? declaredWays = null)
    {
        if (support.Kind != Model.TaskKind)
        {
            throw new ArgumentException($"A {support.Kind} support set cannot adapt a {Model.TaskKind} model.", nameof(support));
        }

        if (support.Dimension != Model.InputDimension)
        {
            throw new ArgumentException($"Support examples have {support.Dimension} features; the model expects {Model.InputDimension}.", nameof(support));
        }

        if (Model.TaskKind == TaskKind.Regression)
        {
            return 0;
        }

        var ways = declaredWays ?? labels?.Count ?? (support.Classes!.Max() + 1);
        SupportSet.CheckWays(ways);
        var counts = new int[ways];
        foreach (var c in support.Classes!)
        {
            if (c < 0 || c >= ways)
            {
                throw new ArgumentException($"Class index {c} is outside [0, {ways}).", nameof(support));
            }

            counts[c]++;
        }

        var empty = Array.IndexOf(counts, 0);
        if (empty >= 0)
        {
            var name = labels is null ? $"class {empty}" : $"label '{labels[empty]}'";
            throw new ArgumentException($"The support set has no example of {name}; every label needs at least one.", nameof(support));
        }

        return ways;
    }
}
