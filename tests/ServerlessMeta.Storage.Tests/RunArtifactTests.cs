using ServerlessMeta.Storage.Tests.Infrastructure;

namespace ServerlessMeta.Storage.Tests;

[Collection(AzuriteCollectionDefinition.Name)]
public sealed class RunArtifactTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task TheFirstWriteWinsAndLaterWritesGetItsETagBack()
    {
        await using var storage = TestStorage.Create(azurite);
        var first = await storage.Artifacts.CreateAsync("run-1", "checkpoints/r000001.smeta", BinaryData.FromString("first"));
        var second = await storage.Artifacts.CreateAsync("run-1", "checkpoints/r000001.smeta", BinaryData.FromString("second"));

        Assert.True(first.Created);
        Assert.False(second.Created);
        Assert.Equal(first.ETag, second.ETag);
        Assert.Equal("runs/run-1/checkpoints/r000001.smeta", first.BlobName);
        Assert.Equal("first", (await storage.Artifacts.ReadAsync("run-1", "checkpoints/r000001.smeta", first.ETag)).ToString());
        Assert.Equal(first.ETag, (await storage.Artifacts.FindAsync("run-1", "checkpoints/r000001.smeta"))!.ETag);
    }

    [Fact]
    public async Task ConcurrentWritersOfOneNameLeaveOneBlobAndAgreeOnIt()
    {
        await using var storage = TestStorage.Create(azurite);
        var writes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => storage.Artifacts.CreateAsync("run-2", "x.bin", BinaryData.FromString($"writer {i}"))));
        Assert.Single(writes, w => w.Created);
        Assert.Single(writes.Select(w => w.ETag).Distinct());
        var content = (await storage.Artifacts.ReadAsync("run-2", "x.bin")).ToString();
        Assert.Equal($"writer {Array.FindIndex(writes, w => w.Created)}", content);
    }

    [Fact]
    public async Task ReadsPinTheETagListAndDeleteStayInsideTheRun()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Artifacts.CreateAsync("run-3", "updates/r000001/s0000.smu", BinaryData.FromString("a"));
        await storage.Artifacts.CreateAsync("run-3", "updates/r000001/s0001.smu", BinaryData.FromString("b"));
        await storage.Artifacts.CreateAsync("run-3", "checkpoints/r000001.smeta", BinaryData.FromString("c"));
        await storage.Artifacts.CreateAsync("run-30", "updates/r000001/s0000.smu", BinaryData.FromString("other run"));

        await Assert.ThrowsAsync<ConflictException>(() => storage.Artifacts.ReadAsync("run-3", "checkpoints/r000001.smeta", "\"0x1\""));
        await Assert.ThrowsAsync<NotFoundException>(() => storage.Artifacts.ReadAsync("run-3", "missing.bin"));
        Assert.Null(await storage.Artifacts.FindAsync("run-3", "missing.bin"));

        var names = new List<string>();
        await foreach (var name in storage.Artifacts.ListAsync("run-3", "updates/"))
        {
            names.Add(name);
        }

        Assert.Equal(["updates/r000001/s0000.smu", "updates/r000001/s0001.smu"], names);
        Assert.Equal(2, await storage.Artifacts.DeleteAsync("run-3", "updates/"));
        Assert.NotNull(await storage.Artifacts.FindAsync("run-3", "checkpoints/r000001.smeta"));
        Assert.NotNull(await storage.Artifacts.FindAsync("run-30", "updates/r000001/s0000.smu"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("/abs")]
    [InlineData("a/../b")]
    [InlineData("Upper.bin")]
    [InlineData("a//b")]
    [InlineData("trailing/")]
    public void BadNamesAreRefused(string name) =>
        Assert.Throws<ArgumentException>(() => RunArtifactStore.BlobName("run-1", name));
}
