using System.Diagnostics;
using ServerlessMeta.Storage.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ServerlessMeta.Storage.Tests;

[Collection(AzuriteCollectionDefinition.Name)]
public sealed class ConcurrencyTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    [Fact]
    public async Task FiftyConcurrentWritersGetVersionsOneToFiftyEachWithItsBlob()
    {
        const int Writers = 50;
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("contended");
        var models = Enumerable.Range(0, Writers).Select(w => TestData.ModelBytes(seed: 1000 + w, size: 2_000 + 37 * w)).ToArray();

        var clock = Stopwatch.StartNew();
        var stored = await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(() =>
            storage.Categories.AddVersionAsync("contended", new MemoryStream(models[w]), TestData.Metadata(algorithm: $"writer-{w}")))));
        clock.Stop();
        output.WriteLine($"{Writers} concurrent writers finished in {clock.Elapsed.TotalMilliseconds:F0} ms ({storage.Hook.Count} storage requests)");

        Assert.Equal(Enumerable.Range(1, Writers), stored.Select(s => s.Version).Order());
        for (var w = 0; w < Writers; w++)
        {
            Assert.Equal($"writer-{w}", stored[w].Algorithm);
            Assert.Equal(TestData.Sha256(models[w]), stored[w].Sha256);
        }

        var listed = await storage.Categories.ListVersionsAsync("contended").ToListAsync();
        Assert.Equal(Enumerable.Range(1, Writers), listed.Select(v => v.Version));
        foreach (var row in listed)
        {
            var writer = int.Parse(row.Algorithm["writer-".Length..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(stored[writer], row with { Hyperparameters = stored[writer].Hyperparameters, Metrics = stored[writer].Metrics });
            await using var download = await storage.Categories.DownloadVersionAsync("contended", row.Version);
            Assert.Equal(models[writer], download.ToArray());
            Assert.Equal(TestData.Sha256(download.ToArray()), row.Sha256);
        }

        var blobs = await storage.Container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "categories/contended/" }).ToListAsync();
        Assert.Equal(Enumerable.Range(1, Writers).Select(v => $"categories/contended/v{v:D6}/model.smeta"), blobs.Select(b => b.Name));
        var info = await storage.Categories.GetCategoryAsync("contended");
        Assert.Equal(Writers, info.LatestVersion);
        Assert.NotNull(info.ServingVersion);
    }

    [Fact]
    public async Task APromotingWriterThatFinishesLastDoesNotDemoteANewerServedVersion()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("promoting");
        await storage.Categories.AddVersionAsync("promoting", new MemoryStream(TestData.ModelBytes(seed: 2000, size: 1_000)), TestData.Metadata());

        // Writer A gets version 2 and is held at its blob upload while writer B writes and serves version 3.
        var gate = storage.Hook.HoldRequestsTo("/v000002/");
        var slow = Task.Run(() => storage.Categories.AddVersionAsync("promoting", new MemoryStream(TestData.ModelBytes(seed: 2001, size: 1_000)), TestData.Metadata() with { Promote = true }));
        await gate.Reached;
        var fast = await storage.Categories.AddVersionAsync("promoting", new MemoryStream(TestData.ModelBytes(seed: 2002, size: 1_000)), TestData.Metadata() with { Promote = true });
        Assert.Equal(3, fast.Version);
        Assert.Equal(3, (await storage.Categories.GetCategoryAsync("promoting")).ServingVersion);

        gate.Release();
        Assert.Equal(2, (await slow).Version);

        var info = await storage.Categories.GetCategoryAsync("promoting");
        Assert.Equal((3, 3), (info.LatestVersion, info.ServingVersion));
    }

    [Fact]
    public async Task ConcurrentMetaModelWritersGetUniqueContiguousVersions()
    {
        await using var storage = TestStorage.Create(azurite);
        var stored = await Task.WhenAll(Enumerable.Range(0, 20).Select(w => Task.Run(() =>
            storage.MetaModels.AddVersionAsync(new MemoryStream(TestData.ModelBytes(w, 500)), new NewMetaModel
            {
                Algorithm = "reptile", PretrainingRunId = $"run-{w:D2}", Iterations = w, DataSnapshotId = "snap",
            }))));
        Assert.Equal(Enumerable.Range(1, 20), stored.Select(s => s.Version).Order());
        Assert.Equal(20, (await storage.MetaModels.GetLatestVersionAsync()).Version);
    }
}
