using System.Buffers.Binary;
using System.Text.Json;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Serialization;
using ServerlessMeta.Learning.Training;

namespace ServerlessMeta.Learning.Tests;

public class ModelFormatTests
{
    public static TheoryData<MetaAlgorithm> All => [.. MetaAlgorithms.All];

    [Theory]
    [MemberData(nameof(All))]
    public void MetaModelRoundTripsExactlyWithOptimizerState(MetaAlgorithm algorithm)
    {
        var (_, featurizer, train, _) = TestData.Catalog();
        using var model = TestData.SmallClassifierModel(algorithm, featurizer);
        MetaTrainer.Train(model, new Tasks.EpisodeSampler(train, 3, 2, 2), new TrainingOptions { Iterations = 3, MetaBatchSize = 2, Seed = 1 });
        var bytes = model.ToFile(new Dictionary<string, string> { ["run"] = "r1" }).ToBytes();
        using var loaded = MetaModel.FromFile(ModelFile.FromBytes(bytes));
        Assert.Equal(model.Algorithm, loaded.Algorithm);
        Assert.Equal(model.Options, loaded.Options);
        Assert.Equal(model.Featurizer!.OutputDimension, loaded.Featurizer!.OutputDimension);
        Assert.Equal(3, loaded.Optimizer.Step);
        Assert.Equal(TestData.Flatten(model), TestData.Flatten(loaded));
        Assert.Equal(model.Optimizer.SecondMoments.ToData().SelectMany(d => d.Data.Values), loaded.Optimizer.SecondMoments.ToData().SelectMany(d => d.Data.Values));
        Assert.Equal(bytes, loaded.ToFile(new Dictionary<string, string> { ["run"] = "r1" }).ToBytes());
    }

    [Theory]
    [MemberData(nameof(All))]
    public void AdaptedModelRoundTripsAndPredictsIdentically(MetaAlgorithm algorithm)
    {
        var (catalog, featurizer, _, _) = TestData.Catalog();
        using var model = TestData.SmallClassifierModel(algorithm, featurizer);
        var category = catalog.Test[0];
        var examples = category.Items.GroupBy(i => i.Label).Take(3).SelectMany(g => g.Take(2)).ToList();
        using var adapted = model.Adapt(examples);
        var bytes = adapted.ToFile().ToBytes();
        using var loaded = AdaptedModel.FromFile(ModelFile.FromBytes(bytes));
        Assert.Equal(adapted.Labels, loaded.Labels);
        var query = category.Items.Take(10).Select(i => i.Item).ToList();
        // Equal to float precision: libtorch picks its kernels by CPU (AVX2 or AVX-512), and the loaded model's
        // derived tensors can be computed by another kernel than the adapted one's, an ulp apart.
        var before = adapted.PredictItems(query);
        var after = loaded.PredictItems(query);
        Assert.Equal(before.Count, after.Count);
        for (var i = 0; i < before.Count; i++)
        {
            Assert.Equal(before[i].Length, after[i].Length);
            Assert.All(before[i].Zip(after[i]), pair => Assert.Equal(pair.First, pair.Second, 1e-6f));
        }
    }

    [Fact]
    public void EveryCorruptedByteIsDetected()
    {
        using var model = MetaModel.Create(MetaAlgorithm.Maml, TestData.Sinusoid(hidden: 3), seed: 1);
        var bytes = model.ToFile().ToBytes();
        var random = new DeterministicRandom(5);
        for (var trial = 0; trial < 200; trial++)
        {
            var corrupted = (byte[])bytes.Clone();
            var position = random.Next(corrupted.Length);
            corrupted[position] ^= (byte)(1 + random.Next(255));
            Assert.Throws<ModelFormatException>(() => ModelFile.FromBytes(corrupted));
        }
    }

    [Fact]
    public void TruncatedFilesAreRejected()
    {
        using var model = MetaModel.Create(MetaAlgorithm.Maml, TestData.Sinusoid(hidden: 3), seed: 1);
        var bytes = model.ToFile().ToBytes();
        foreach (var length in new[] { 0, 4, 8, 13, 40, bytes.Length / 2, bytes.Length - 1 })
        {
            var ex = Assert.Throws<ModelFormatException>(() => ModelFile.FromBytes(bytes.AsSpan(0, length)));
            Assert.False(string.IsNullOrWhiteSpace(ex.Message));
        }
    }

    [Fact]
    public void ForeignBytesAndUnknownVersionsAreRejectedClearly()
    {
        var png = new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13 };
        Assert.Contains("not a ServerlessMeta model", Assert.Throws<ModelFormatException>(() => ModelFile.FromBytes(png)).Message, StringComparison.Ordinal);
        Assert.Throws<ModelFormatException>(() => ModelFile.FromBytes("{\"json\": true}"u8));

        using var model = MetaModel.Create(MetaAlgorithm.Maml, TestData.Sinusoid(hidden: 3), seed: 1);
        var bytes = model.ToFile().ToBytes();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), 99);
        Assert.Contains("version 99", Assert.Throws<ModelFormatException>(() => ModelFile.FromBytes(bytes)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MetaModelAndAdaptedModelFilesAreNotInterchangeable()
    {
        var (_, featurizer, _, _) = TestData.Catalog();
        using var model = TestData.SmallClassifierModel(MetaAlgorithm.ProtoNet, featurizer);
        var episode = TestData.RandomClassificationEpisode(2, 1, 1, featurizer.OutputDimension, 1);
        using var adapted = model.Adapt(episode.Support, ["a", "b"]);
        Assert.Throws<ModelFormatException>(() => MetaModel.FromFile(ModelFile.FromBytes(adapted.ToFile().ToBytes())));
        Assert.Throws<ModelFormatException>(() => AdaptedModel.FromFile(ModelFile.FromBytes(model.ToFile().ToBytes())));
    }

    [Fact]
    public void SafetensorsExportHasAValidHeaderAndAllTensors()
    {
        using var model = MetaModel.Create(MetaAlgorithm.MetaSgd, TestData.Sinusoid(hidden: 4), seed: 1);
        var file = model.ToFile();
        using var stream = new MemoryStream();
        file.ExportSafetensors(stream);
        var bytes = stream.ToArray();
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        var dataLength = bytes.Length - 8 - headerLength;
        var first = header.RootElement.GetProperty("param.layer0.weight");
        Assert.Equal("F32", first.GetProperty("dtype").GetString());
        Assert.Equal(new[] { 4, 1 }, first.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        var offsets = first.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
        var values = new float[4];
        Buffer.BlockCopy(bytes, 8 + headerLength + (int)offsets[0], values, 0, 16);
        Assert.Equal(model.Parameters["layer0.weight"].data<float>().ToArray(), values);
        var last = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").Max(p => p.Value.GetProperty("data_offsets")[1].GetInt64());
        Assert.Equal(dataLength, last);
        Assert.Contains("\"algorithm\":\"metasgd\"", header.RootElement.GetProperty("__metadata__").GetProperty("serverlessmeta").GetString()!, StringComparison.Ordinal);
    }
}
