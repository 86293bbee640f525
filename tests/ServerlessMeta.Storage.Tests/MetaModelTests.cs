using ServerlessMeta.Storage.Tests.Infrastructure;

namespace ServerlessMeta.Storage.Tests;

[Collection(AzuriteCollectionDefinition.Name)]
public sealed class MetaModelTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task MetaModelsKeepTheirLineageAndTheLatestFallsBackWhenCorrupt()
    {
        await using var storage = TestStorage.Create(azurite);
        await Assert.ThrowsAsync<ModelVersionNotFoundException>(() => storage.MetaModels.GetLatestVersionAsync());
        await storage.Categories.CreateCategoryAsync("lineage");
        await storage.Datasets.AppendExamplesAsync("lineage", [TestData.Example(1, "a")]);
        var snapshot = await storage.Datasets.TakeSnapshotAsync();
        var first = TestData.ModelBytes(10, 3000);
        var second = TestData.ModelBytes(11, 3000);

        var v1 = await storage.MetaModels.AddVersionAsync(new MemoryStream(first), new NewMetaModel
        {
            Algorithm = "maml",
            PretrainingRunId = "run-0001",
            Iterations = 12_600,
            DataSnapshotId = snapshot.Id,
            Hyperparameters = new Dictionary<string, string> { ["metaBatch"] = "25" },
            Metrics = new Dictionary<string, double> { ["mse1"] = 0.43, ["mse10"] = 0.10 },
        });
        var v2 = await storage.MetaModels.AddVersionAsync(new MemoryStream(second), new NewMetaModel
        {
            Algorithm = "fomaml", PretrainingRunId = "run-0002", Iterations = 20_000, DataSnapshotId = snapshot.Id,
        });

        Assert.Equal((1, "meta/v000001/model.smeta"), (v1.Version, v1.BlobName));
        Assert.Equal((2, "meta/v000002/model.smeta"), (v2.Version, v2.BlobName));
        var fetched = await storage.MetaModels.GetVersionAsync(1);
        Assert.Equal(("maml", "run-0001", 12_600L, snapshot.Id), (fetched.Algorithm, fetched.PretrainingRunId, fetched.Iterations, fetched.DataSnapshotId));
        Assert.Equal(0.43, fetched.Metrics["mse1"]);
        Assert.Equal("25", fetched.Hyperparameters["metaBatch"]);
        Assert.Equal(TestData.Sha256(first), fetched.Sha256);
        Assert.Equal(2, (await storage.MetaModels.GetLatestVersionAsync()).Version);
        Assert.Equal([1, 2], (await storage.MetaModels.ListVersionsAsync().ToListAsync()).Select(v => v.Version));

        await using (var latest = await storage.MetaModels.DownloadLatestAsync())
        {
            Assert.Equal((2, false), (latest.Version, latest.FellBack));
            Assert.Equal(second, latest.ToArray());
        }

        var corrupted = (byte[])second.Clone();
        corrupted[^1] ^= 0x80;
        await storage.Container.GetBlobClient(v2.BlobName).UploadAsync(new BinaryData(corrupted), overwrite: true);
        await Assert.ThrowsAsync<ModelIntegrityException>(() => storage.MetaModels.DownloadVersionAsync(2));
        await using (var fallback = await storage.MetaModels.DownloadLatestAsync())
        {
            Assert.Equal((1, 2), (fallback.Version, fallback.FellBackFrom));
            Assert.Equal(first, fallback.ToArray());
        }

        var badRun = await Assert.ThrowsAsync<ArgumentException>(() => storage.MetaModels.AddVersionAsync(new MemoryStream(first), new NewMetaModel
        {
            Algorithm = "maml", PretrainingRunId = "run-0003", Iterations = -1, DataSnapshotId = snapshot.Id,
        }));
        Assert.Equal("iterations", badRun.ParamName);
    }

    [Fact]
    public async Task OrphanedMetaModelBlobsAreCleanedUpAfterTheGracePeriod()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.MetaModels.AddVersionAsync(new MemoryStream(TestData.ModelBytes(1, 100)), new NewMetaModel
        {
            Algorithm = "protonet", PretrainingRunId = "run-1", Iterations = 1, DataSnapshotId = "snap",
        });
        await storage.Container.UploadBlobAsync("meta/v000002/model.smeta", new BinaryData(TestData.ModelBytes(2, 100)));
        await storage.Container.UploadBlobAsync("meta/notes.txt", new BinaryData("not a model"u8.ToArray()));

        Assert.Empty((await storage.Maintenance.CleanUpOrphansAsync()).DeletedBlobs);
        storage.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        var result = await storage.Maintenance.CleanUpOrphansAsync();
        Assert.Equal(["meta/v000002/model.smeta"], result.DeletedBlobs);
        Assert.Equal(2, result.BlobsScanned);
        Assert.True((await storage.Container.GetBlobClient("meta/notes.txt").ExistsAsync()).Value);
        Assert.True((await storage.Container.GetBlobClient("meta/v000001/model.smeta").ExistsAsync()).Value);
        Assert.Equal(1, (await storage.MetaModels.GetLatestVersionAsync()).Version);
        var next = await storage.MetaModels.AddVersionAsync(new MemoryStream(TestData.ModelBytes(3, 100)), new NewMetaModel
        {
            Algorithm = "protonet", PretrainingRunId = "run-2", Iterations = 2, DataSnapshotId = "snap",
        });
        Assert.Equal(3, next.Version); // cleanup moved the counter past the number it claimed for the stranger's blob
        Assert.Equal([1, 3], (await storage.MetaModels.ListVersionsAsync().ToListAsync()).Select(v => v.Version));
    }

    [Fact]
    public async Task ARunRegistersAtMostOneMetaModelEvenWhenItsRegistrationRunsConcurrently()
    {
        await using var storage = TestStorage.Create(azurite);
        NewMetaModel Metadata(string run) => new() { Algorithm = "protonet", PretrainingRunId = run, Iterations = 5, DataSnapshotId = "snap" };

        // Four concurrent registrations of one run (a re-executed activity racing the original) and a later retry.
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
            Task.Run(() => storage.MetaModels.AddVersionAsync(new MemoryStream(TestData.ModelBytes(20 + i, 2000)), Metadata("run-once")))));
        var retried = await storage.MetaModels.AddVersionAsync(new MemoryStream(TestData.ModelBytes(30, 2000)), Metadata("run-once"));

        var version = Assert.Single(concurrent.Select(v => v.Version).Append(retried.Version).Distinct());
        var stored = Assert.Single(await storage.MetaModels.ListVersionsAsync().ToListAsync());
        Assert.Equal((version, "run-once"), (stored.Version, stored.PretrainingRunId));
        Assert.Contains(stored.Sha256, concurrent.Select(v => v.Sha256));

        // Another run still gets its own version (after any numbers the losers allocated).
        var other = await storage.MetaModels.AddVersionAsync(new MemoryStream(TestData.ModelBytes(40, 2000)), Metadata("run-other"));
        Assert.True(other.Version > version);
        Assert.Equal(other.Version, (await storage.MetaModels.GetLatestVersionAsync()).Version);
    }
}
