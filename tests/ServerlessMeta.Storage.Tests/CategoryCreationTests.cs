using Azure.Core;
using ServerlessMeta.Storage.Tests.Infrastructure;

namespace ServerlessMeta.Storage.Tests;

/// <summary>Creating a category with its examples and first model version in one call.</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class CategoryCreationTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task ACategoryIsCreatedWithItsExamplesAndAServedFirstVersionInSevenRequests()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("warm-up"); // creates the container and table
        var examples = Examples(6);
        var bytes = TestData.ModelBytes(seed: 1, size: 5_000);
        var before = storage.Hook.Count;

        var stored = await storage.Categories.CreateCategoryAsync("jade-bracelets", examples, new MemoryStream(bytes), TestData.Metadata(metaModelVersion: 2));

        Assert.Equal(7, storage.Hook.Count - before);
        Assert.Equal(1, stored.Version);
        Assert.Equal(2, stored.MetaModelVersion);
        var info = await storage.Categories.GetCategoryAsync("jade-bracelets");
        Assert.Equal((1, 1), (info.LatestVersion, info.ServingVersion));
        Assert.Equal(6, info.ExampleCount);
        Assert.Equal(3, info.LabelCounts["a"]);
        Assert.Equal(4, info.FeatureCount);
        var read = await storage.Datasets.ReadExamplesAsync("jade-bracelets").ToListAsync();
        Assert.Equal(examples.Count, read.Count);
        for (var i = 0; i < read.Count; i++)
        {
            TestData.AssertSame(examples[i], read[i]);
        }

        await using var download = await storage.Categories.DownloadVersionAsync("jade-bracelets", 1);
        Assert.Equal(bytes, download.ToArray());

        // The next append and version continue where the creation left off.
        await storage.Datasets.AppendExamplesAsync("jade-bracelets", Examples(2));
        var second = await storage.Categories.AddVersionAsync("jade-bracelets", new MemoryStream(bytes), TestData.Metadata(promote: true));
        Assert.Equal(2, second.Version);
        info = await storage.Categories.GetCategoryAsync("jade-bracelets");
        Assert.Equal((8L, 2, 2), (info.ExampleCount, info.LatestVersion, info.ServingVersion));
        Assert.Equal(8, (await storage.Datasets.ReadExamplesAsync("jade-bracelets").ToListAsync()).Count);
    }

    [Fact]
    public async Task AnExistingIdOrBadInputChangesNothing()
    {
        await using var storage = TestStorage.Create(azurite);
        var bytes = TestData.ModelBytes(seed: 2, size: 1_000);
        await storage.Categories.CreateCategoryAsync("taken", Examples(4), new MemoryStream(bytes), TestData.Metadata());

        var duplicate = await Assert.ThrowsAsync<CategoryAlreadyExistsException>(() =>
            storage.Categories.CreateCategoryAsync("taken", Examples(2), new MemoryStream(bytes), TestData.Metadata()));
        Assert.Equal("taken", duplicate.CategoryId);
        var info = await storage.Categories.GetCategoryAsync("taken");
        Assert.Equal((4L, 1, 1), (info.ExampleCount, info.LatestVersion, info.ServingVersion));
        Assert.Equal(4, (await storage.Datasets.ReadExamplesAsync("taken").ToListAsync()).Count);
        Assert.Single(await storage.Categories.ListVersionsAsync("taken").ToListAsync());

        var requests = storage.Hook.Count;
        var mixed = Examples(2);
        mixed[1] = TestData.Example(1, "b", features: 5);
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            storage.Categories.CreateCategoryAsync("fresh", mixed, new MemoryStream(bytes), TestData.Metadata()));
        Assert.Equal("examples[1].features", error.ParamName);
        error = await Assert.ThrowsAsync<ArgumentException>(() =>
            storage.Categories.CreateCategoryAsync("fresh", Examples(2), new MemoryStream(bytes), TestData.Metadata() with { ExamplesHash = "not-a-hash" }));
        Assert.Equal("examplesHash", error.ParamName);
        Assert.Equal(requests, storage.Hook.Count);
        await Assert.ThrowsAsync<CategoryNotFoundException>(() => storage.Categories.GetCategoryAsync("fresh"));
    }

    [Fact]
    public async Task AVersionWrittenMeanwhileKeepsTheExamplesAndTheNewerServedVersion()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("warm-up");

        // The creation is held at its model upload while a feedback-like writer stores and serves version 2.
        var gate = storage.Hook.HoldRequestsTo("/racing/v000001/");
        var creating = Task.Run(() => storage.Categories.CreateCategoryAsync("racing", Examples(6), new MemoryStream(TestData.ModelBytes(seed: 3, size: 1_000)), TestData.Metadata()));
        await gate.Reached;
        var other = await storage.Categories.AddVersionAsync("racing", new MemoryStream(TestData.ModelBytes(seed: 4, size: 1_000)), TestData.Metadata(promote: true));
        Assert.Equal(2, other.Version);

        gate.Release();
        Assert.Equal(1, (await creating).Version);

        var info = await storage.Categories.GetCategoryAsync("racing");
        Assert.Equal((6L, 2, 2), (info.ExampleCount, info.LatestVersion, info.ServingVersion));
        Assert.Equal(6, (await storage.Datasets.ReadExamplesAsync("racing").ToListAsync()).Count);
        Assert.Equal([1, 2], (await storage.Categories.ListVersionsAsync("racing").ToListAsync()).Select(v => v.Version));
    }

    [Fact]
    public async Task AnAppendThatWaitedOnTheCreationKeepsBothBatches()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("warm-up");
        storage.Datasets.AppendStallTimeout = TimeSpan.FromMilliseconds(200);

        // The creation is held after writing its examples (uncommitted) while another writer appends: it
        // finds bytes that are not its own, waits, seals the part and appends to the next one.
        var gate = storage.Hook.HoldRequestsTo("/appending/v000001/");
        var creating = Task.Run(() => storage.Categories.CreateCategoryAsync("appending", Examples(6), new MemoryStream(TestData.ModelBytes(seed: 5, size: 1_000)), TestData.Metadata()));
        await gate.Reached;
        var appended = await storage.Datasets.AppendExamplesAsync("appending", Examples(3));
        Assert.Equal(3, appended.ExampleCount);

        gate.Release();
        await creating;

        var info = await storage.Categories.GetCategoryAsync("appending");
        Assert.Equal((9L, 1, 1), (info.ExampleCount, info.LatestVersion, info.ServingVersion));
        Assert.Equal(9, (await storage.Datasets.ReadExamplesAsync("appending").ToListAsync()).Count);
    }

    internal static List<StoredExample> Examples(int count) =>
        [.. Enumerable.Range(0, count).Select(i => TestData.Example(i, i % 2 == 0 ? "a" : "b"))];
}

/// <summary>A create that dies after its row and examples are written, before its commit (issue 11: a request timed out while storage hung).</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class AbandonedCreateTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task ACreateThatNeverFinishedIsTakenOverOnceItIsOldEnoughAndNotBefore()
    {
        await using var storage = TestStorage.Create(azurite);
        var examples = CategoryCreationTests.Examples(4);

        // The first create dies at its last step (the row update that commits the examples and the version).
        storage.Hook.Before = message => message.Request.Method == RequestMethod.Put && storage.Hook.IsTableRequest(message) && storage.Hook.TableBody(message).Contains("\"ServingVersion\":1", StringComparison.Ordinal)
            ? throw new IOException("simulated death before the commit")
            : ValueTask.CompletedTask;
        await Assert.ThrowsAsync<IOException>(() => storage.Categories.CreateCategoryAsync("dying", examples, new MemoryStream(TestData.ModelBytes(1, 2000)), TestData.Metadata()));
        storage.Hook.Before = null;
        var unfinished = await storage.Categories.GetCategoryAsync("dying");
        Assert.Equal((0L, (int?)null), (unfinished.ExampleCount, unfinished.ServingVersion));

        // While it might still be running, another create of the id is refused as usual.
        await Assert.ThrowsAsync<CategoryAlreadyExistsException>(() =>
            storage.Categories.CreateCategoryAsync("dying", examples, new MemoryStream(TestData.ModelBytes(2, 2000)), TestData.Metadata()));

        // Once older than AbandonedCreateAge it is taken over, without waiting on the dead writer's uncommitted bytes.
        storage.Clock.Advance(new StorageOptions().AbandonedCreateAge + TimeSpan.FromSeconds(1));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var retried = await storage.Categories.CreateCategoryAsync("dying", examples, new MemoryStream(TestData.ModelBytes(3, 2000)), TestData.Metadata());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"the take-over waited {clock.Elapsed} (on the dead writer's bytes?)");
        var info = await storage.Categories.GetCategoryAsync("dying");
        Assert.Equal(retried.Version, info.ServingVersion);
        Assert.Equal(examples.Count, info.ExampleCount);
        var read = await storage.Datasets.ReadExamplesAsync("dying").ToListAsync();
        Assert.Equal(examples.Count, read.Count);
        await using var served = await storage.Categories.DownloadAsync("dying", ModelAlias.Serving);
        Assert.Equal(TestData.ModelBytes(3, 2000), served.ToArray());
        Assert.Contains(storage.Logs.Entries, e => e.EventId == 7109);

        // A category with examples or a version is never taken over, however old.
        storage.Clock.Advance(TimeSpan.FromDays(1));
        await Assert.ThrowsAsync<CategoryAlreadyExistsException>(() =>
            storage.Categories.CreateCategoryAsync("dying", examples, new MemoryStream(TestData.ModelBytes(4, 2000)), TestData.Metadata()));
    }
}
