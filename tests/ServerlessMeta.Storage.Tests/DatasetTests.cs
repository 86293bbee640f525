using System.Text;
using Azure.Storage.Blobs.Specialized;
using ServerlessMeta.Storage.Tests.Infrastructure;

namespace ServerlessMeta.Storage.Tests;

[Collection(AzuriteCollectionDefinition.Name)]
public sealed class DatasetTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task ExamplesRoundTripInOrderWithCountsPerLabel()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("rings");
        StoredExample[] first =
        [
            new([1.5f, -2f, 3.25f], null, "gold"),
            new(null, "silver band, engraved \"forever\" \u2764", "silver"),
            new([0f, 1e-7f, float.MaxValue], "both kinds", "gold"),
        ];
        StoredExample[] second = [.. Enumerable.Range(0, 40).Select(i => TestData.Example(i, i % 3 == 0 ? "platinum" : "silver", features: 3))];

        var appended = await storage.Datasets.AppendExamplesAsync("rings", first);
        Assert.Equal(3, appended.Appended);
        Assert.Equal(3, appended.ExampleCount);
        appended = await storage.Datasets.AppendExamplesAsync("rings", second);
        Assert.Equal(43, appended.ExampleCount);

        var all = await storage.Datasets.ReadExamplesAsync("rings").ToListAsync();
        Assert.Equal(43, all.Count);
        foreach (var (expected, actual) in first.Concat(second).Zip(all))
        {
            TestData.AssertSame(expected, actual);
        }

        var info = await storage.Categories.GetCategoryAsync("rings");
        Assert.Equal(43, info.ExampleCount);
        Assert.Equal(3, info.FeatureCount);
        Assert.Equal(["gold", "platinum", "silver"], info.Labels);
        Assert.Equal(2, info.LabelCounts["gold"]);
        Assert.Equal(14, info.LabelCounts["platinum"]);
        Assert.Equal(27, info.LabelCounts["silver"]);
        Assert.Equal(info.LabelCounts, appended.LabelCounts);

        var platinum = await storage.Datasets.ReadExamplesAsync("rings", "platinum").ToListAsync();
        Assert.Equal(14, platinum.Count);
        Assert.All(platinum, e => Assert.Equal("platinum", e.Label));
        Assert.Empty(await storage.Datasets.ReadExamplesAsync("rings", "bronze").ToListAsync());

        var lines = (await storage.Container.GetBlobClient("datasets/rings/part-000001.jsonl").DownloadContentAsync()).Value.Content.ToString().Split('\n');
        Assert.Equal("{\"features\":[1.5,-2,3.25],\"label\":\"gold\"}", lines[0]);
    }

    [Fact]
    public async Task InvalidExamplesAreRejectedNamingTheFieldAndNothingIsWritten()
    {
        await using var storage = TestStorage.Create(azurite);
        var good = TestData.Example(0, "a", features: 2);
        var cases = new (string Field, IReadOnlyList<StoredExample> Examples)[]
        {
            ("examples[1].label", [good, good with { Label = "" }]),
            ("examples[0].label", [good with { Label = new string('x', 101) }]),
            ("examples[1]", [good, new(null, "  ", "a")]),
            ("examples[0]", [new([], null, "a")]),
            ("examples[2].features", [good, good, good with { Features = [1f, 2f, 3f] }]),
            ("examples[0].features", [good with { Features = [1f, float.NaN] }]),
            ("examples[0].text", [good with { Text = new string('t', DatasetStore.MaxTextLength + 1) }]),
            ("examples[1]", [good, null!]),
            ("examples", []),
            ("examples", [.. Enumerable.Repeat(good, DatasetStore.MaxExamplesPerAppend + 1)]),
        };
        foreach (var (field, examples) in cases)
        {
            var error = await Assert.ThrowsAsync<ArgumentException>(() => storage.Datasets.AppendExamplesAsync("anything", examples));
            Assert.Equal(field, error.ParamName);
        }

        Assert.Equal(0, storage.Hook.Count);

        await Assert.ThrowsAsync<CategoryNotFoundException>(() => storage.Datasets.AppendExamplesAsync("anything", [good]));
        await storage.Categories.CreateCategoryAsync("anything");
        await storage.Datasets.AppendExamplesAsync("anything", [good]);
        var mismatch = await Assert.ThrowsAsync<ArgumentException>(() =>
            storage.Datasets.AppendExamplesAsync("anything", [new(null, "text", "b"), TestData.Example(1, "b", features: 5)]));
        Assert.Equal("examples[1].features", mismatch.ParamName);
        Assert.Contains("carry 2", mismatch.Message, StringComparison.Ordinal);
        Assert.Single(await storage.Datasets.ReadExamplesAsync("anything").ToListAsync());
        Assert.Equal(1, (await storage.Categories.GetCategoryAsync("anything")).ExampleCount);
    }

    [Fact]
    public async Task ACategoryTakesAtMostTheLabelLimitEvenWithLongNonAsciiLabels()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("labels");
        string Label(int i) => $"{i:D3}" + new string('\u00e9', DatasetStore.MaxLabelLength - 3);
        var examples = Enumerable.Range(0, DatasetStore.MaxLabelsPerCategory).Select(i => new StoredExample(null, "x", Label(i))).ToList();
        await storage.Datasets.AppendExamplesAsync("labels", examples);
        Assert.Equal(DatasetStore.MaxLabelsPerCategory, (await storage.Categories.GetCategoryAsync("labels")).Labels.Count);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => storage.Datasets.AppendExamplesAsync("labels",
            [new(null, "known label", Label(0)), new(null, "one label too many", "new-label")]));
        Assert.Equal("examples[1].label", error.ParamName);
        await storage.Datasets.AppendExamplesAsync("labels", [new(null, "known label", Label(7))]);
        var info = await storage.Categories.GetCategoryAsync("labels");
        Assert.Equal(DatasetStore.MaxLabelsPerCategory + 1, info.ExampleCount);
        Assert.Equal(2, info.LabelCounts[Label(7)]);
        var first = (await storage.Datasets.ReadExamplesAsync("labels").ToListAsync())[0];
        Assert.Equal(Label(0), first.Label);
    }

    [Fact]
    public async Task ASnapshotPinsTheDataAndTellsWhenItChanged()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("bags");
        await storage.Categories.CreateCategoryAsync("belts");
        await storage.Categories.CreateCategoryAsync("empty");
        await storage.Datasets.AppendExamplesAsync("bags", [.. Enumerable.Range(0, 10).Select(i => TestData.Example(i, "tote"))]);
        await storage.Datasets.AppendExamplesAsync("belts", [.. Enumerable.Range(0, 5).Select(i => TestData.Example(i, "leather"))]);

        var before = await storage.Datasets.TakeSnapshotAsync();
        Assert.Equal(["bags", "belts"], before.Categories.Select(c => c.CategoryId));
        Assert.Equal(15, before.ExampleCount);
        Assert.Matches("^[0-9a-f]{64}$", before.Id);
        Assert.False(await storage.Datasets.HasChangedSinceAsync(before.Id));
        Assert.Equal(before.Id, (await storage.Datasets.TakeSnapshotAsync()).Id);

        await storage.Datasets.AppendExamplesAsync("bags", [TestData.Example(99, "clutch")]);
        Assert.True(await storage.Datasets.HasChangedSinceAsync(before.Id));
        var after = await storage.Datasets.TakeSnapshotAsync();
        Assert.NotEqual(before.Id, after.Id);
        Assert.Equal(16, after.ExampleCount);

        var bagsThen = await storage.Datasets.ReadExamplesAsync(before.Categories[0]).ToListAsync();
        Assert.Equal(10, bagsThen.Count);
        Assert.DoesNotContain(bagsThen, e => e.Label == "clutch");
        Assert.Equal(11, (await storage.Datasets.ReadExamplesAsync(after.Categories[0]).ToListAsync()).Count);
        Assert.Single(await storage.Datasets.ReadExamplesAsync(after.Categories[0], "clutch").ToListAsync());
    }

    [Fact]
    public async Task EpisodeSamplingDrawsPerLabelWithoutReplacementAndReproducibly()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("pens");
        var examples = Enumerable.Range(0, 150).Select(i => TestData.Example(i, $"label-{i % 3}")).ToList();
        examples.AddRange(Enumerable.Range(150, 3).Select(i => TestData.Example(i, "rare")));
        await storage.Datasets.AppendExamplesAsync("pens", examples);

        var sample = await storage.Datasets.SampleExamplesAsync("pens", perLabel: 5, seed: 42);
        Assert.Equal(["label-0", "label-1", "label-2", "rare"], sample.Keys);
        foreach (var (label, drawn) in sample)
        {
            Assert.Equal(label == "rare" ? 3 : 5, drawn.Count);
            Assert.All(drawn, e => Assert.Equal(label, e.Label));
            Assert.Equal(drawn.Count, drawn.Select(e => e.Text).Distinct().Count());
        }

        var again = await storage.Datasets.SampleExamplesAsync("pens", perLabel: 5, seed: 42);
        Assert.Equal(sample.SelectMany(s => s.Value.Select(e => e.Text)), again.SelectMany(s => s.Value.Select(e => e.Text)));
        var other = await storage.Datasets.SampleExamplesAsync("pens", perLabel: 5, seed: 7);
        Assert.NotEqual(sample.SelectMany(s => s.Value.Select(e => e.Text)), other.SelectMany(s => s.Value.Select(e => e.Text)));
    }

    [Fact]
    public async Task ADatasetRollsOverToNewPartsAndReadsBackWhole()
    {
        await using var storage = TestStorage.Create(azurite, new Dictionary<string, string?> { ["datasetPartMaxBytes"] = "2048" });
        await storage.Categories.CreateCategoryAsync("socks");
        var expected = new List<StoredExample>();
        for (var batch = 0; batch < 12; batch++)
        {
            var examples = Enumerable.Range(batch * 10, 10).Select(i => TestData.Example(i, $"size-{i % 4}")).ToList();
            await storage.Datasets.AppendExamplesAsync("socks", examples);
            expected.AddRange(examples);
        }

        var snapshot = (await storage.Datasets.TakeSnapshotAsync()).Categories.Single();
        Assert.True(snapshot.PartLengths.Count >= 3, $"expected several parts, got {snapshot.PartLengths.Count}");
        var blobs = await storage.Container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "datasets/socks/" }).ToListAsync();
        Assert.Equal(snapshot.PartLengths.Count(l => l > 0), blobs.Count);
        Assert.All(blobs, b => Assert.Matches("^datasets/socks/part-\\d{6}\\.jsonl$", b.Name));

        var all = await storage.Datasets.ReadExamplesAsync("socks").ToListAsync();
        Assert.Equal(expected.Count, all.Count);
        foreach (var (e, a) in expected.Zip(all))
        {
            TestData.AssertSame(e, a);
        }
    }

    [Fact]
    public async Task BytesOfAnAppendThatDiedBeforeCommittingAreNeverRead()
    {
        await using var storage = TestStorage.Create(azurite);
        storage.Datasets.AppendStallTimeout = TimeSpan.FromMilliseconds(300);
        await storage.Categories.CreateCategoryAsync("lamps");
        await storage.Datasets.AppendExamplesAsync("lamps", [.. Enumerable.Range(0, 10).Select(i => TestData.Example(i, "desk"))]);

        // A writer appended its block and died before updating the category row.
        var part = storage.Container.GetAppendBlobClient("datasets/lamps/part-000001.jsonl");
        await part.AppendBlockAsync(new MemoryStream(Encoding.UTF8.GetBytes("{\"text\":\"never committed\",\"label\":\"ghost\"}\n")));

        Assert.Equal(10, (await storage.Datasets.ReadExamplesAsync("lamps").ToListAsync()).Count);
        await storage.Datasets.AppendExamplesAsync("lamps", [.. Enumerable.Range(10, 10).Select(i => TestData.Example(i, "floor"))]);

        var all = await storage.Datasets.ReadExamplesAsync("lamps").ToListAsync();
        Assert.Equal(20, all.Count);
        Assert.DoesNotContain(all, e => e.Label == "ghost");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"item {i} of {(i < 10 ? "desk" : "floor")}"), all.Select(e => e.Text));
        var info = await storage.Categories.GetCategoryAsync("lamps");
        Assert.Equal(["desk", "floor"], info.Labels);
        Assert.Equal(20, info.ExampleCount);
        Assert.Equal(2, (await storage.Datasets.TakeSnapshotAsync()).Categories.Single().PartLengths.Count);
        Assert.Contains(storage.Logs.Entries, e => e.EventId == 7106);
    }

    [Fact]
    public async Task ConcurrentAppendsToOneCategoryEachLandExactlyOnce()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("cups");
        const int Writers = 10, Appends = 4, PerAppend = 25;
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var a = 0; a < Appends; a++)
            {
                var examples = Enumerable.Range(0, PerAppend).Select(i => new StoredExample([w, a, i], $"w{w}-a{a}-i{i}", $"writer-{w % 4}")).ToList();
                await storage.Datasets.AppendExamplesAsync("cups", examples);
            }
        })));

        var all = await storage.Datasets.ReadExamplesAsync("cups").ToListAsync();
        Assert.Equal(Writers * Appends * PerAppend, all.Count);
        Assert.Equal(all.Count, all.Select(e => e.Text).Distinct().Count());
        var info = await storage.Categories.GetCategoryAsync("cups");
        Assert.Equal(all.Count, info.ExampleCount);
        foreach (var group in all.GroupBy(e => e.Label))
        {
            Assert.Equal(group.Count(), info.LabelCounts[group.Key]);
        }

        // Each append's examples stay together and in order.
        foreach (var batch in all.Chunk(PerAppend))
        {
            var prefix = batch[0].Text![..batch[0].Text!.LastIndexOf('-')];
            Assert.Equal(Enumerable.Range(0, PerAppend).Select(i => $"{prefix}-i{i}"), batch.Select(e => e.Text));
        }
    }
}
