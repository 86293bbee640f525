using Azure.Core;
using ServerlessMeta.Storage.Tests.Infrastructure;

namespace ServerlessMeta.Storage.Tests;

/// <summary>A writer dies (or stalls) between its blob and its row: nothing half-written is ever served.</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class CrashRecoveryTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task ACrashBetweenBlobAndRowServesNothingNewAndCleanupDeletesTheOrphan()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("crashy");
        var v1 = TestData.ModelBytes(1, 3000);
        await storage.Categories.AddVersionAsync("crashy", new MemoryStream(v1), TestData.Metadata());

        // The process dies right after the blob of version 2 is committed: its row insert never happens.
        storage.Hook.Before = message => IsRowInsert(storage.Hook, message, "v000002")
            ? throw new IOException("simulated crash before the version row")
            : ValueTask.CompletedTask;
        await Assert.ThrowsAsync<IOException>(() =>
            storage.Categories.AddVersionAsync("crashy", new MemoryStream(TestData.ModelBytes(2, 3000)), TestData.Metadata(promote: true)));
        storage.Hook.Before = null;

        const string Orphan = "categories/crashy/v000002/model.smeta";
        Assert.True((await storage.Container.GetBlobClient(Orphan).ExistsAsync()).Value);
        Assert.Equal([1], (await storage.Categories.ListVersionsAsync("crashy").ToListAsync()).Select(v => v.Version));
        var info = await storage.Categories.GetCategoryAsync("crashy");
        Assert.Equal((1, 1), (info.LatestVersion, info.ServingVersion));
        await Assert.ThrowsAsync<ModelVersionNotFoundException>(() => storage.Categories.GetVersionAsync("crashy", 2));
        await Assert.ThrowsAsync<ModelVersionNotFoundException>(() => storage.Categories.DownloadVersionAsync("crashy", 2));
        await using (var serving = await storage.Categories.DownloadAsync("crashy", ModelAlias.Serving))
        {
            Assert.Equal(1, serving.Version);
            Assert.False(serving.FellBack);
            Assert.Equal(v1, serving.ToArray());
        }

        // Within the grace period the blob might belong to a write in progress: kept.
        var early = await storage.Maintenance.CleanUpOrphansAsync();
        Assert.Equal(2, early.BlobsScanned);
        Assert.Equal(1, early.OrphansWithinGracePeriod);
        Assert.Empty(early.DeletedBlobs);
        Assert.True((await storage.Container.GetBlobClient(Orphan).ExistsAsync()).Value);

        storage.Clock.Advance(TimeSpan.FromHours(2));
        var late = await storage.Maintenance.CleanUpOrphansAsync();
        Assert.Equal([Orphan], late.DeletedBlobs);
        Assert.False((await storage.Container.GetBlobClient(Orphan).ExistsAsync()).Value);
        Assert.True((await storage.Container.GetBlobClient("categories/crashy/v000001/model.smeta").ExistsAsync()).Value);
        Assert.Contains(storage.Logs.Entries, e => e.EventId == 7103 && e.Message.Contains(Orphan, StringComparison.Ordinal));
        var tombstone = await storage.Table.GetEntityAsync<Azure.Data.Tables.TableEntity>("models.crashy", "v000002");
        Assert.Equal("abandoned", tombstone.Value.GetString("Status"));

        Assert.Empty((await storage.Maintenance.CleanUpOrphansAsync()).DeletedBlobs);
        var v3 = await storage.Categories.AddVersionAsync("crashy", new MemoryStream(TestData.ModelBytes(3, 100)), TestData.Metadata());
        Assert.Equal(3, v3.Version);
        Assert.Equal([1, 3], (await storage.Categories.ListVersionsAsync("crashy").ToListAsync()).Select(v => v.Version));
        Assert.Equal(3, (await storage.Categories.GetCategoryAsync("crashy")).LatestVersion);
    }

    [Fact]
    public async Task AWriterSlowerThanTheGracePeriodFailsInsteadOfWritingARowForADeletedBlob()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("sluggish");
        var blobWritten = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        storage.Hook.Before = async message =>
        {
            if (IsRowInsert(storage.Hook, message, "v000001"))
            {
                blobWritten.TrySetResult();
                await release.Task;
            }
        };

        var writer = Task.Run(() => storage.Categories.AddVersionAsync("sluggish", new MemoryStream(TestData.ModelBytes(9, 5000)), TestData.Metadata()));
        await blobWritten.Task.WaitAsync(TimeSpan.FromSeconds(30));

        storage.Clock.Advance(TimeSpan.FromHours(2));
        var cleanup = await storage.Maintenance.CleanUpOrphansAsync(); // claims v000001 with an abandoned row, deletes the blob
        Assert.Equal(["categories/sluggish/v000001/model.smeta"], cleanup.DeletedBlobs);

        release.SetResult();
        var error = await Assert.ThrowsAsync<ConflictException>(() => writer);
        Assert.Contains("abandoned", error.Message, StringComparison.Ordinal);
        Assert.Contains(storage.Logs.Entries, e => e.EventId == 7105);

        Assert.Empty(await storage.Categories.ListVersionsAsync("sluggish").ToListAsync());
        Assert.Null((await storage.Categories.GetCategoryAsync("sluggish")).LatestVersion);
        await Assert.ThrowsAsync<ModelVersionNotFoundException>(() => storage.Categories.DownloadAsync("sluggish", ModelAlias.Serving));
        var retried = await storage.Categories.AddVersionAsync("sluggish", new MemoryStream(TestData.ModelBytes(9, 5000)), TestData.Metadata());
        Assert.Equal(2, retried.Version);
    }

    [Fact]
    public async Task ACrashAfterTheRowLeavesAValidVersionAndCleanupMovesThePointers()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("pointer");
        storage.Hook.Before = message =>
            message.Request.Method == RequestMethod.Put &&
            message.Request.Uri.Path.Contains("(PartitionKey='categories',RowKey='pointer')", StringComparison.Ordinal)
                ? throw new IOException("simulated crash before the pointer update")
                : ValueTask.CompletedTask;
        await Assert.ThrowsAsync<IOException>(() => storage.Categories.AddVersionAsync("pointer", new MemoryStream(TestData.ModelBytes(4, 800)), TestData.Metadata()));
        storage.Hook.Before = null;

        Assert.Equal([1], (await storage.Categories.ListVersionsAsync("pointer").ToListAsync()).Select(v => v.Version));
        await using (var exact = await storage.Categories.DownloadVersionAsync("pointer", 1))
        {
            Assert.Equal(TestData.ModelBytes(4, 800), exact.ToArray());
        }

        Assert.Null((await storage.Categories.GetCategoryAsync("pointer")).ServingVersion);

        var cleanup = await storage.Maintenance.CleanUpOrphansAsync();
        Assert.Empty(cleanup.DeletedBlobs);
        Assert.Equal(["pointer"], cleanup.RepairedCategories);
        var info = await storage.Categories.GetCategoryAsync("pointer");
        Assert.Equal((1, 1), (info.LatestVersion, info.ServingVersion));
        await using var serving = await storage.Categories.DownloadAsync("pointer", ModelAlias.Serving);
        Assert.Equal(1, serving.Version);
    }

    /// <summary>The table POST that inserts the version row <paramref name="rowKey"/>.</summary>
    private static bool IsRowInsert(RequestHook hook, HttpMessage message, string rowKey) =>
        message.Request.Method == RequestMethod.Post &&
        hook.TableBody(message).Contains($"\"RowKey\":\"{rowKey}\"", StringComparison.Ordinal) &&
        hook.TableBody(message).Contains("\"Status\":\"ready\"", StringComparison.Ordinal);
}
