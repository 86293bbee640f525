using ServerlessMeta.Storage.Tests.Infrastructure;

namespace ServerlessMeta.Storage.Tests;

/// <summary>Checksums are verified on every load; serving falls back to the newest older good version and says so.</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class IntegrityTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task ACorruptedBlobIsDetectedAndServingFallsBack()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("gems");
        var v1 = TestData.ModelBytes(1, 4096);
        var v2 = TestData.ModelBytes(2, 4096);
        await storage.Categories.AddVersionAsync("gems", new MemoryStream(v1), TestData.Metadata());
        await storage.Categories.AddVersionAsync("gems", new MemoryStream(v2), TestData.Metadata(promote: true));

        // Bit rot (or tampering) in version 2: same size, one byte flipped.
        var corrupted = (byte[])v2.Clone();
        corrupted[1234] ^= 0x01;
        await storage.Container.GetBlobClient("categories/gems/v000002/model.smeta").UploadAsync(new BinaryData(corrupted), overwrite: true);

        var error = await Assert.ThrowsAsync<ModelIntegrityException>(() => storage.Categories.DownloadVersionAsync("gems", 2));
        Assert.Contains("SHA-256", error.Message, StringComparison.Ordinal);
        Assert.Equal("categories/gems/v000002/model.smeta", error.BlobName);

        await using (var serving = await storage.Categories.DownloadAsync("gems", ModelAlias.Serving))
        {
            Assert.True(serving.FellBack);
            Assert.Equal(1, serving.Version);
            Assert.Equal(2, serving.FellBackFrom);
            Assert.Contains("SHA-256", serving.FallbackReason, StringComparison.Ordinal);
            Assert.Equal(v1, serving.ToArray());
        }

        Assert.Contains(storage.Logs.Entries, e => e.EventId == 7101 && e.Level == Microsoft.Extensions.Logging.LogLevel.Warning);
        Assert.Equal(2, (await storage.Categories.GetCategoryAsync("gems")).ServingVersion); // falling back does not move the alias

        await Assert.ThrowsAsync<ModelIntegrityException>(() => storage.Categories.PromoteAsync("gems", 2));
        Assert.Equal(1, (await storage.Categories.RollbackAsync("gems")).ServingVersion);
        await using var afterRollback = await storage.Categories.DownloadAsync("gems", ModelAlias.Serving);
        Assert.False(afterRollback.FellBack);
    }

    [Fact]
    public async Task FallbackSkipsEveryBadVersionMissingTruncatedOrCorrupt()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("clocks");
        var models = Enumerable.Range(1, 4).Select(i => TestData.ModelBytes(i, 2048)).ToArray();
        foreach (var model in models)
        {
            await storage.Categories.AddVersionAsync("clocks", new MemoryStream(model), TestData.Metadata(promote: true));
        }

        await storage.Container.GetBlobClient("categories/clocks/v000004/model.smeta").DeleteAsync();
        await storage.Container.GetBlobClient("categories/clocks/v000003/model.smeta").UploadAsync(new BinaryData(models[2][..1000]), overwrite: true);
        var flipped = (byte[])models[1].Clone();
        flipped[0] ^= 0xFF;
        await storage.Container.GetBlobClient("categories/clocks/v000002/model.smeta").UploadAsync(new BinaryData(flipped), overwrite: true);

        Assert.Contains("missing", (await Assert.ThrowsAsync<ModelIntegrityException>(() => storage.Categories.DownloadVersionAsync("clocks", 4))).Message, StringComparison.Ordinal);
        Assert.Contains("1000 bytes", (await Assert.ThrowsAsync<ModelIntegrityException>(() => storage.Categories.DownloadVersionAsync("clocks", 3))).Message, StringComparison.Ordinal);

        await using (var serving = await storage.Categories.DownloadAsync("clocks", ModelAlias.Serving))
        {
            Assert.Equal((1, 4), (serving.Version, serving.FellBackFrom));
            Assert.Contains("missing", serving.FallbackReason, StringComparison.Ordinal);
            Assert.Equal(models[0], serving.ToArray());
        }

        await storage.Container.GetBlobClient("categories/clocks/v000001/model.smeta").DeleteAsync();
        var none = await Assert.ThrowsAsync<ModelIntegrityException>(() => storage.Categories.DownloadAsync("clocks", ModelAlias.Latest));
        Assert.Contains("no older version verifies", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LargeVerifiedModelsAreSpooledToATemporaryFile()
    {
        await using var storage = TestStorage.Create(azurite, new Dictionary<string, string?> { ["maxInMemoryModelBytes"] = "1024" });
        await storage.Categories.CreateCategoryAsync("spool");
        var bytes = TestData.ModelBytes(5, 6 * 1024 * 1024);
        await storage.Categories.AddVersionAsync("spool", new MemoryStream(bytes), TestData.Metadata());

        string path;
        await using (var download = await storage.Categories.DownloadVersionAsync("spool", 1))
        {
            var file = Assert.IsType<FileStream>(download.Content);
            path = file.Name;
            Assert.True(File.Exists(path));
            Assert.Equal(bytes, download.ToArray());
        }

        Assert.False(File.Exists(path));
    }
}
