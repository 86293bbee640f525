using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Featurization.Text;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Serialization;
using ServerlessMeta.Learning.Tasks;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ServerlessMeta.Learning.Algorithms;

/// <summary>
/// A model adapted to one category: network weights, a head and the label list. Immutable after
/// creation; <see cref="Predict(float[], int)"/> is safe to call from many threads at once.
/// </summary>
public sealed class AdaptedModel : IDisposable
{
    private readonly IFunctionalNetwork _network;
    private readonly Tensor[] _networkParameters;

    internal AdaptedModel(MetaAlgorithm algorithm, ModelConfig model, HeadKind head, FeaturizerOptions? featurizer, IReadOnlyList<string>? labels, NamedTensors tensors, int adaptationSteps, double learningRate)
    {
        Algorithm = algorithm;
        Model = model;
        Head = head;
        Featurizer = featurizer;
        Labels = labels ?? (model.TaskKind == TaskKind.Classification
            ? [.. Enumerable.Range(0, (int)ClassCount(head, tensors)).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))]
            : []);
        Tensors = tensors;
        AdaptationSteps = adaptationSteps;
        LearningRate = learningRate;
        _network = model.CreateNetwork();
        _networkParameters = [.. _network.Parameters.Select(p => tensors[p.Name])];
    }

    public MetaAlgorithm Algorithm { get; }

    public ModelConfig Model { get; }

    public HeadKind Head { get; }

    public FeaturizerOptions? Featurizer { get; }

    /// <summary>Label names, in the order of <see cref="Predict(float[], int)"/>'s columns.</summary>
    public IReadOnlyList<string> Labels { get; }

    public NamedTensors Tensors { get; }

    /// <summary>Gradient steps actually taken (fewer than asked when a step would have raised the support loss).</summary>
    public int AdaptationSteps { get; }

    public double LearningRate { get; }

    /// <summary>
    /// Predicts for <paramref name="count"/> featurized rows: classification returns label
    /// probabilities (count x labels, each row summing to 1); regression returns one value per row.
    /// </summary>
    public float[] Predict(float[] features, int count)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (count <= 0 || features.Length != count * Model.InputDimension)
        {
            var layout = Featurizer is { } f ? $" ({f.Describe()}); featurize items with this model's own featurizer options" : string.Empty;
            throw new ArgumentException($"Expected {count} x {Model.InputDimension} feature values{layout}, got {features.Length}.", nameof(features));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var output = Forward(tensor(features, [count, Model.InputDimension]));
        return output.contiguous().data<float>().ToArray();
    }

    /// <summary>Featurizes catalogue items with this model's featurizer and predicts label probabilities.</summary>
    /// <param name="items">The items.</param>
    /// <param name="encoder">The text encoder the model's features need (see <see cref="FeaturizerOptions.Encoder"/>); ignored for hashed-only models.</param>
    public IReadOnlyList<float[]> PredictItems(IReadOnlyList<CatalogItem> items, ITextEncoder? encoder = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            throw new ArgumentException("items must not be empty.", nameof(items));
        }

        var featurizer = new Featurizer(Featurizer ?? throw new InvalidOperationException("This model has no featurizer."), encoder);
        var probabilities = Predict(featurizer.FeaturizeMany(items), items.Count);
        var width = Model.TaskKind == TaskKind.Classification ? Labels.Count : 1;
        return [.. Enumerable.Range(0, items.Count).Select(i => probabilities.AsSpan(i * width, width).ToArray())];
    }

    private Tensor Forward(Tensor x)
    {
        var embeddings = _network.Forward(x, _networkParameters);
        return Head switch
        {
            HeadKind.None => embeddings.squeeze(1),
            HeadKind.Linear => F.softmax(F.linear(embeddings, Tensors[GradientBasedAlgorithm.HeadWeightName], Tensors[GradientBasedAlgorithm.HeadBiasName]), 1),
            HeadKind.Prototypes => F.softmax(PrototypicalNetwork.Logits(embeddings, Tensors[PrototypicalNetwork.PrototypesName], Tensors[PrototypicalNetwork.ScaleName]), 1),
            HeadKind.Attention => MatchingNetwork.Probabilities(
                MatchingNetwork.Normalize(embeddings),
                Tensors[MatchingNetwork.SupportName],
                Tensors[MatchingNetwork.SupportLabelsName],
                Tensors[MetaContext.LogScaleName]),
            _ => throw new InvalidOperationException($"Unknown head {Head}."),
        };
    }

    public ModelFile ToFile(IReadOnlyDictionary<string, string>? metadata = null)
    {
        var data = Tensors.ToData();
        var header = new ModelHeader
        {
            Kind = ModelFileKind.AdaptedModel,
            Algorithm = Algorithm,
            Model = Model,
            Options = new MetaLearningOptions { AdaptationSteps = AdaptationSteps, InnerLearningRate = LearningRate },
            Featurizer = Featurizer,
            Labels = Model.TaskKind == TaskKind.Classification ? Labels : null,
            Metadata = metadata ?? new Dictionary<string, string>(),
            Tensors = [.. data.Select(d => new TensorEntry(d.Name, d.Data.Shape))],
        };
        return new ModelFile(header, [.. data.Select(d => d.Data)]);
    }

    public static AdaptedModel FromFile(ModelFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var header = file.Header;
        if (header.Kind != ModelFileKind.AdaptedModel)
        {
            throw new ModelFormatException($"Expected an adapted-model file, found a {header.Kind} file.");
        }

        try
        {
            header.Model.Validate();
            var head = AlgorithmCore.For(header.Algorithm).HeadFor(header.Model.TaskKind);
            var network = header.Model.CreateNetwork();
            var required = network.Parameters.ToDictionary(p => p.Name, p => p.Shape);
            foreach (var name in RequiredHeadTensors(head))
            {
                required[name] = [];
            }

            var present = header.Tensors.ToDictionary(t => t.Name, t => t.Shape);
            foreach (var (name, shape) in required)
            {
                if (!present.TryGetValue(name, out var actual) || (shape.Length > 0 && !shape.SequenceEqual(actual)))
                {
                    throw new ModelFormatException($"The adapted-model file lacks tensor '{name}' or has it in the wrong shape.");
                }
            }

            var tensors = NamedTensors.FromData(header.Tensors.Select((t, i) => (t.Name, file.Tensors[i])), requiresGrad: false);
            try
            {
                var model = new AdaptedModel(header.Algorithm, header.Model, head, header.Featurizer, header.Labels, tensors, header.Options.AdaptationSteps, header.Options.InnerLearningRate);
                if (header.Model.TaskKind == TaskKind.Classification && model.Labels.Count != ClassCount(head, tensors))
                {
                    model.Dispose();
                    throw new ModelFormatException("The adapted-model file's label list does not match its head.");
                }

                return model;
            }
            catch
            {
                tensors.Dispose();
                throw;
            }
        }
        catch (ArgumentException ex)
        {
            throw new ModelFormatException($"The adapted-model file is inconsistent: {ex.Message}", ex);
        }
    }

    public void Save(Stream stream, IReadOnlyDictionary<string, string>? metadata = null) => ToFile(metadata).WriteTo(stream);

    public static AdaptedModel Load(Stream stream) => FromFile(ModelFile.ReadFrom(stream));

    public void Dispose() => Tensors.Dispose();

    private static IEnumerable<string> RequiredHeadTensors(HeadKind head) => head switch
    {
        HeadKind.Linear => [GradientBasedAlgorithm.HeadWeightName, GradientBasedAlgorithm.HeadBiasName],
        HeadKind.Prototypes => [PrototypicalNetwork.PrototypesName, PrototypicalNetwork.ScaleName],
        HeadKind.Attention => [MatchingNetwork.SupportName, MatchingNetwork.SupportLabelsName, MetaContext.LogScaleName],
        _ => [],
    };

    private static long ClassCount(HeadKind head, NamedTensors tensors) => head switch
    {
        HeadKind.Linear => tensors[GradientBasedAlgorithm.HeadWeightName].shape[0],
        HeadKind.Prototypes => tensors[PrototypicalNetwork.PrototypesName].shape[0],
        HeadKind.Attention => tensors[MatchingNetwork.SupportLabelsName].shape[1],
        _ => 0,
    };
}
