using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Learning.Tests;

public class BadInputTests
{
    private static readonly FeaturizerOptions FeaturizerOptions = new() { NumericDimension = 2, TextDimension = 16 };
    private static readonly Featurizer Featurizer = new(FeaturizerOptions);

    private static MetaModel Model(MetaAlgorithm algorithm = MetaAlgorithm.ProtoNet) =>
        MetaModel.Create(algorithm, TestData.Classifier(Featurizer.OutputDimension, 4), featurizer: FeaturizerOptions, seed: 1);

    private static LabelledItem Item(string label, float a = 1, string? text = "jade") => new([a, 2f], text, label);

    [Fact]
    public void EmptySupportSet()
    {
        using var model = Model();
        var ex = Assert.Throws<ArgumentException>(() => model.Adapt([]));
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LabelWithoutExamples()
    {
        var ex = Assert.Throws<ArgumentException>(() => SupportSet.Create(Featurizer, [Item("a"), Item("b")], ["a", "b", "c"]));
        Assert.Contains("'c' has no examples", ex.Message, StringComparison.Ordinal);

        using var model = Model(MetaAlgorithm.Maml);
        var set = TaskSet.ForClassification(new float[3 * Featurizer.OutputDimension], Featurizer.OutputDimension, [0, 0, 2]);
        var ex2 = Assert.Throws<ArgumentException>(() => model.Adapt(set, ["x", "y", "z"]));
        Assert.Contains("no example of label 'y'", ex2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingLabel()
    {
        var ex = Assert.Throws<ArgumentException>(() => SupportSet.Create(Featurizer, [Item("a"), Item(" ")]));
        Assert.Equal("examples[1].label", ex.ParamName);
    }

    [Fact]
    public void MoreThanFiftyLabels()
    {
        using var model = Model();
        var examples = Enumerable.Range(0, 51).Select(i => Item($"label-{i}", i)).ToList();
        var ex = Assert.Throws<ArgumentException>(() => model.Adapt(examples));
        Assert.Contains("at most 50 labels", ex.Message, StringComparison.Ordinal);
        using var fifty = model.Adapt(examples.Take(50).ToList());
        Assert.Equal(50, fifty.Labels.Count);
    }

    [Fact]
    public void NaNOrInfiniteFeatures()
    {
        using var model = Model();
        var ex = Assert.Throws<ArgumentException>(() => model.Adapt([Item("a"), new LabelledItem([float.NaN, 1f], null, "b")]));
        Assert.Equal("examples[1].features", ex.ParamName);
        Assert.Throws<ArgumentException>(() => TaskSet.ForRegression([float.PositiveInfinity], 1, [1f]));
    }

    [Fact]
    public void WrongFeatureDimension()
    {
        using var model = Model();
        var ex = Assert.Throws<ArgumentException>(() => model.Adapt([Item("a"), new LabelledItem([1f, 2f, 3f], null, "b")]));
        Assert.Equal("examples[1].features", ex.ParamName);
        var wrong = TaskSet.ForClassification(new float[6], 3, [0, 1]);
        Assert.Contains("expects", Assert.Throws<ArgumentException>(() => model.Adapt(wrong, ["a", "b"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextOverTheCap()
    {
        using var model = Model();
        var ex = Assert.Throws<ArgumentException>(() => model.Adapt([Item("a"), Item("b", text: new string('x', 2001))]));
        Assert.Equal("examples[1].text", ex.ParamName);
    }

    [Theory]
    [InlineData(-1, null, "steps")]
    [InlineData(201, null, "steps")]
    [InlineData(null, 0.0, "learningRate")]
    [InlineData(null, 11.0, "learningRate")]
    [InlineData(null, double.NaN, "learningRate")]
    public void AdaptationOptionsOutOfBounds(int? steps, double? learningRate, string field)
    {
        using var model = Model(MetaAlgorithm.Maml);
        var ex = Assert.Throws<ArgumentException>(() => model.Adapt([Item("a"), Item("b")], new AdaptationOptions(steps, learningRate)));
        Assert.Equal(field, ex.ParamName);
    }

    [Fact]
    public void UnknownAlgorithmName()
    {
        var ex = Assert.Throws<ArgumentException>(() => MetaAlgorithms.Parse("sgd"));
        Assert.Contains("maml, fomaml, reptile, metasgd, protonet, matchingnet", ex.Message, StringComparison.Ordinal);
        Assert.Equal(MetaAlgorithm.MetaSgd, MetaAlgorithms.Parse("MetaSGD"));
    }

    [Fact]
    public void EpisodeSamplerNeedsEnoughData()
    {
        var category = new LabelledCategory("c1", 2, new Dictionary<string, IReadOnlyList<float[]>> { ["a"] = [[1f, 2f]], ["b"] = [[3f, 4f]] });
        Assert.Throws<ArgumentException>(() => new EpisodeSampler([category], 2, 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EpisodeSampler([category], 51, 1, 1));
    }
}
