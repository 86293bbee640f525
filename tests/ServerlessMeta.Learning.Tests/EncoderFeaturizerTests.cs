using System.Text.Json;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Featurization.Text;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Serialization;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Learning.Tests;

public class EncoderFeaturizerTests(MiniLmFixture fixture) : IClassFixture<MiniLmFixture>
{
    private static readonly List<LabelledItem> Examples =
    [
        new([1f, 0f], "green jade bangle", "jade"), new([0.9f, 0.1f], "carved jade bracelet", "jade"),
        new([0f, 1f], "silver chain necklace", "silver"), new([0.1f, 0.8f], "sterling silver pendant", "silver"),
    ];

    private readonly MiniLmTextEncoder _encoder = fixture.Encoder;

    private FeaturizerOptions EncoderOptions => FeaturizerOptions.ForText(_encoder.Info, numericDimension: 2, textDimension: 64);

    [Fact]
    public void VectorsAreNumericThenEmbeddingThenWeightedHashedNgrams()
    {
        var featurizer = new Featurizer(EncoderOptions, _encoder);
        Assert.Equal(2 + 384 + 64, featurizer.OutputDimension);
        var vector = featurizer.Featurize(new CatalogItem([3f, -1f], "jade bracelet"));
        Assert.Equal([3f, -1f], vector[..2]);
        Assert.Equal(_encoder.Embed("jade bracelet"), vector[2..386]);
        var hashed = new Featurizer(new FeaturizerOptions { TextDimension = 64 }).Featurize(new CatalogItem(null, "jade bracelet"));
        Assert.Equal(hashed.Select(v => v * FeaturizerOptions.DefaultHashedWeightWithEncoder), vector[386..]);
    }

    [Fact]
    public void FeaturizeManyEmbedsEachDistinctTextOnceInOneCall()
    {
        var featurizer = new Featurizer(EncoderOptions, _encoder);
        var counting = new CountingEncoder(_encoder);
        var many = new Featurizer(EncoderOptions, counting).FeaturizeMany([new([1f, 0f], "jade"), new([0f, 1f], "jade"), new([1f, 1f], "pearl"), new([1f, 1f], null)]);
        Assert.Equal(1, counting.Calls);
        Assert.Equal(2, counting.Texts);
        Assert.Equal(featurizer.Featurize(new CatalogItem([1f, 1f], "pearl")), many.AsSpan(2 * 450, 450).ToArray());
        Assert.Equal(0f, many.AsSpan((3 * 450) + 2, 448).ToArray().Max(Math.Abs));
    }

    [Fact]
    public void OptionsThatNameAnEncoderRefuseAMissingOrDifferentOne()
    {
        var missing = Assert.Throws<TextEncoderMismatchException>(() => new Featurizer(EncoderOptions));
        Assert.Contains("all-MiniLM-L6-v2", missing.Message, StringComparison.Ordinal);
        var other = new CountingEncoder(_encoder, new TextEncoderInfo("all-MiniLM-L6-v2", new string('0', 64), 384));
        var different = Assert.Throws<TextEncoderMismatchException>(() => new Featurizer(EncoderOptions, other));
        Assert.Contains("cannot be mixed", different.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AModelBuiltOnEncoderFeaturesRefusesHashedOnlyItems()
    {
        using var meta = MetaModel.Create(MetaAlgorithm.ProtoNet, TestData.Classifier(EncoderOptions.OutputDimension, hidden: 4), featurizer: EncoderOptions);
        using var adapted = meta.Adapt(Examples, encoder: _encoder);
        var hashedOnly = new Featurizer(new FeaturizerOptions { NumericDimension = 2, TextDimension = 64 }).FeaturizeMany([new([1f, 0f], "jade bracelet")]);
        var refused = Assert.Throws<ArgumentException>(() => adapted.Predict(hashedOnly, 1));
        Assert.Contains("all-MiniLM-L6-v2 text embedding", refused.Message, StringComparison.Ordinal);
        Assert.Throws<TextEncoderMismatchException>(() => adapted.PredictItems([new([1f, 0f], "jade bracelet")]));
        var probabilities = adapted.PredictItems([new([1f, 0f], "jade bracelet")], _encoder);
        Assert.Equal(["jade", "silver"], adapted.Labels);
        Assert.True(probabilities[0][0] > 0.5f);
    }

    [Fact]
    public void TheEncoderTravelsInTheModelFile()
    {
        using var meta = MetaModel.Create(MetaAlgorithm.ProtoNet, TestData.Classifier(EncoderOptions.OutputDimension, hidden: 4), featurizer: EncoderOptions);
        using var adapted = meta.Adapt(Examples, encoder: _encoder);
        var bytes = adapted.ToFile().ToBytes();
        using var loaded = AdaptedModel.FromFile(ModelFile.FromBytes(bytes));
        Assert.Equal(JsonSerializer.Serialize(EncoderOptions), JsonSerializer.Serialize(loaded.Featurizer));
        Assert.Equal(_encoder.Info, loaded.Featurizer!.Encoder);
        using var metaLoaded = MetaModel.FromFile(ModelFile.FromBytes(meta.ToFile().ToBytes()));
        Assert.Equal(JsonSerializer.Serialize(EncoderOptions), JsonSerializer.Serialize(metaLoaded.Featurizer));
    }

    [Fact]
    public void AModelFileWrittenBeforeTheEncoderExistedLoadsAndPredictsAsBefore()
    {
        // Written by the engine at the commit before the text encoder (fixture), with its predictions.
        var directory = Path.Combine(AppContext.BaseDirectory, "Fixtures");
        using var stream = File.OpenRead(Path.Combine(directory, "adapted-hashed-v0.1.smeta"));
        using var model = AdaptedModel.Load(stream);
        Assert.Null(model.Featurizer!.Encoder);
        Assert.Equal(1f, model.Featurizer.HashedWeight);
        using var expected = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory, "adapted-hashed-v0.1.expected.json")));
        var items = expected.RootElement.GetProperty("items").Deserialize<List<CatalogItem>>()!;
        var probabilities = model.PredictItems(items);
        var want = expected.RootElement.GetProperty("probabilities").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToList();
        Assert.Equal(want.Count, probabilities.Count);
        for (var i = 0; i < want.Count; i++)
        {
            // The fixture's figures were computed on another CPU: libtorch's kernels differ by an ulp across CPUs.
            Assert.Equal(want[i].Length, probabilities[i].Length);
            Assert.All(want[i].Zip(probabilities[i]), pair => Assert.Equal(pair.First, pair.Second, 1e-6f));
        }

        using var metaStream = File.OpenRead(Path.Combine(directory, "metamodel-hashed-v0.1.smeta"));
        using var meta = MetaModel.Load(metaStream);
        Assert.Null(meta.Featurizer!.Encoder);
        using var again = meta.Adapt([new([1f, 0f], "jade", "a"), new([0f, 1f], "silver", "b")]);
        Assert.Equal(2, again.Labels.Count);
    }

    /// <summary>An encoder that counts what reaches it (optionally claiming another identity).</summary>
    private sealed class CountingEncoder(ITextEncoder inner, TextEncoderInfo? info = null) : ITextEncoder
    {
        public int Calls { get; private set; }

        public int Texts { get; private set; }

        public TextEncoderInfo Info => info ?? inner.Info;

        public void Embed(IReadOnlyList<string> texts, Span<float> destination)
        {
            Calls++;
            Texts += texts.Count;
            inner.Embed(texts, destination);
        }
    }
}
