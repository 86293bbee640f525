using System.Text;
using ServerlessMeta.Storage.Tests.Infrastructure;

namespace ServerlessMeta.Storage.Tests;

[Collection(AzuriteCollectionDefinition.Name)]
public sealed class CategoryRegistryTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task CategoriesAreCreatedListedAndUnique()
    {
        await using var storage = TestStorage.Create(azurite);
        var created = await storage.Categories.CreateCategoryAsync("jade-bracelets");
        await storage.Categories.CreateCategoryAsync("amber-rings");

        Assert.Equal("jade-bracelets", created.Id);
        Assert.Equal(0, created.ExampleCount);
        Assert.Null(created.ServingVersion);
        Assert.Null(created.LatestVersion);
        var fetched = await storage.Categories.GetCategoryAsync("jade-bracelets");
        Assert.Equal(created.CreatedAt, fetched.CreatedAt);
        Assert.Equal(["amber-rings", "jade-bracelets"], (await storage.Categories.ListCategoriesAsync().ToListAsync()).Select(c => c.Id));

        var duplicate = await Assert.ThrowsAsync<CategoryAlreadyExistsException>(() => storage.Categories.CreateCategoryAsync("jade-bracelets"));
        Assert.Equal("jade-bracelets", duplicate.CategoryId);
        Assert.IsAssignableFrom<ConflictException>(duplicate);
        var missing = await Assert.ThrowsAsync<CategoryNotFoundException>(() => storage.Categories.GetCategoryAsync("no-such-category"));
        Assert.IsAssignableFrom<NotFoundException>(missing);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4 * 1024 * 1024)]
    [InlineData(9 * 1024 * 1024 + 123)]
    public async Task AModelRoundTripsWithItsLineageAndChecksum(int size)
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("watches");
        var bytes = TestData.ModelBytes(seed: size, size);
        var metadata = TestData.Metadata(algorithm: "maml", metaModelVersion: 3);

        var stored = await storage.Categories.AddVersionAsync("watches", new MemoryStream(bytes), metadata);

        Assert.Equal(1, stored.Version);
        Assert.Equal("categories/watches/v000001/model.smeta", stored.BlobName);
        Assert.Equal(size, stored.Size);
        Assert.Equal(TestData.Sha256(bytes), stored.Sha256);
        Assert.Equal("maml", stored.Algorithm);
        Assert.Equal(3, stored.MetaModelVersion);
        Assert.Equal(metadata.ExamplesHash, stored.ExamplesHash);
        Assert.Equal("5", stored.Hyperparameters["innerSteps"]);
        Assert.Equal(0.875, stored.Metrics["accuracy"]);
        Assert.True(stored.CreatedAt >= storage.Clock.Start);

        var row = await storage.Categories.GetVersionAsync("watches", 1);
        Assert.Equal(stored with { Hyperparameters = row.Hyperparameters, Metrics = row.Metrics }, row);
        Assert.Equal(metadata.Hyperparameters, row.Hyperparameters);

        await using var download = await storage.Categories.DownloadVersionAsync("watches", 1);
        Assert.Equal(bytes, download.ToArray());
        Assert.False(download.FellBack);
        Assert.Equal(stored.Sha256, download.Sha256);
        Assert.True((await storage.Container.GetBlobClient(stored.BlobName).ExistsAsync()).Value);
    }

    [Fact]
    public async Task LatestAndServingAliasesPromoteAndRollback()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("scarves");
        var models = Enumerable.Range(1, 3).Select(i => TestData.ModelBytes(i, 1000 + i)).ToArray();

        await storage.Categories.AddVersionAsync("scarves", new MemoryStream(models[0]), TestData.Metadata());
        await storage.Categories.AddVersionAsync("scarves", new MemoryStream(models[1]), TestData.Metadata());
        var info = await storage.Categories.GetCategoryAsync("scarves");
        Assert.Equal((2, 1), (info.LatestVersion, info.ServingVersion)); // the first version serves; later ones wait for a promote

        await storage.Categories.AddVersionAsync("scarves", new MemoryStream(models[2]), TestData.Metadata(promote: true));
        info = await storage.Categories.GetCategoryAsync("scarves");
        Assert.Equal((3, 3), (info.LatestVersion, info.ServingVersion));
        Assert.Equal(3, (await storage.Categories.GetVersionAsync("scarves", ModelAlias.Serving)).Version);

        info = await storage.Categories.RollbackAsync("scarves");
        Assert.Equal((3, 2), (info.LatestVersion, info.ServingVersion));
        await using (var serving = await storage.Categories.DownloadAsync("scarves", ModelAlias.Serving))
        {
            Assert.Equal(2, serving.Version);
            Assert.Equal(models[1], serving.ToArray());
        }

        await using (var latest = await storage.Categories.DownloadAsync("scarves", ModelAlias.Latest))
        {
            Assert.Equal(models[2], latest.ToArray());
        }

        info = await storage.Categories.PromoteAsync("scarves", 1);
        Assert.Equal(1, info.ServingVersion);
        await Assert.ThrowsAsync<ConflictException>(() => storage.Categories.RollbackAsync("scarves"));
        info = await storage.Categories.PromoteAsync("scarves", 3);
        Assert.Equal(3, info.ServingVersion);

        Assert.Equal([1, 2, 3], (await storage.Categories.ListVersionsAsync("scarves").ToListAsync()).Select(v => v.Version));
        await Assert.ThrowsAsync<ModelVersionNotFoundException>(() => storage.Categories.PromoteAsync("scarves", 4));
        await Assert.ThrowsAsync<ModelVersionNotFoundException>(() => storage.Categories.GetVersionAsync("scarves", 99));
        await Assert.ThrowsAsync<ModelVersionNotFoundException>(() => storage.Categories.DownloadVersionAsync("scarves", 0));
    }

    [Fact]
    public async Task MissingCategoriesAndVersionsAreNotFound()
    {
        await using var storage = TestStorage.Create(azurite);
        await Assert.ThrowsAsync<CategoryNotFoundException>(() => storage.Categories.AddVersionAsync("ghost", new MemoryStream([1]), TestData.Metadata()));
        await Assert.ThrowsAsync<CategoryNotFoundException>(() => storage.Categories.ListVersionsAsync("ghost").ToListAsync());
        await storage.Categories.CreateCategoryAsync("empty");
        await Assert.ThrowsAsync<ModelVersionNotFoundException>(() => storage.Categories.DownloadAsync("empty", ModelAlias.Serving));
        await Assert.ThrowsAsync<ModelVersionNotFoundException>(() => storage.Categories.GetVersionAsync("empty", ModelAlias.Latest));
        await Assert.ThrowsAsync<ConflictException>(() => storage.Categories.RollbackAsync("empty"));
        Assert.Empty(await storage.Categories.ListVersionsAsync("empty").ToListAsync());
        Assert.False(await storage.Container.GetBlobClient("categories/ghost/v000001/model.smeta").ExistsAsync());
    }

    [Fact]
    public async Task BadMetadataIsRejectedNamingTheFieldBeforeAnyStorageCall()
    {
        await using var storage = TestStorage.Create(azurite);
        var good = TestData.Metadata();
        var cases = new (string Field, NewCategoryModel Metadata)[]
        {
            ("examplesHash", good with { ExamplesHash = "xyz" }),
            ("algorithm", good with { Algorithm = " " }),
            ("metrics.accuracy", good with { Metrics = new Dictionary<string, double> { ["accuracy"] = double.NaN } }),
            ("hyperparameters.steps", good with { Hyperparameters = new Dictionary<string, string> { ["steps"] = new string('x', 2000) } }),
            ("metaModelVersion", good with { MetaModelVersion = 0 }),
        };
        foreach (var (field, metadata) in cases)
        {
            var error = await Assert.ThrowsAsync<ArgumentException>(() => storage.Categories.AddVersionAsync("shoes", new MemoryStream([1]), metadata));
            Assert.Equal(field, error.ParamName);
        }

        Assert.Equal(0, storage.Hook.Count);
        await storage.Categories.CreateCategoryAsync("shoes");
        var empty = await Assert.ThrowsAsync<ArgumentException>(() => storage.Categories.AddVersionAsync("shoes", new MemoryStream(), good));
        Assert.Equal("model", empty.ParamName);
        Assert.Empty(await storage.Categories.ListVersionsAsync("shoes").ToListAsync());
    }

    [Fact]
    public async Task AnExistingBlobIsNeverReplaced()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("hats");
        var planted = Encoding.UTF8.GetBytes("someone else's bytes");
        await storage.Container.UploadBlobAsync("categories/hats/v000001/model.smeta", new BinaryData(planted));

        var error = await Assert.ThrowsAsync<ConflictException>(() => storage.Categories.AddVersionAsync("hats", new MemoryStream(TestData.ModelBytes(1, 64)), TestData.Metadata()));
        Assert.Contains("already exists", error.Message, StringComparison.Ordinal);

        var blob = await storage.Container.GetBlobClient("categories/hats/v000001/model.smeta").DownloadContentAsync();
        Assert.Equal(planted, blob.Value.Content.ToArray());
        Assert.Empty(await storage.Categories.ListVersionsAsync("hats").ToListAsync());
        Assert.Null((await storage.Categories.GetCategoryAsync("hats")).LatestVersion);

        var next = await storage.Categories.AddVersionAsync("hats", new MemoryStream(TestData.ModelBytes(2, 64)), TestData.Metadata());
        Assert.Equal(2, next.Version);
    }

    [Fact]
    public void ExampleSetHashIgnoresOrderAndSeesEveryChange()
    {
        StoredExample[] examples = [TestData.Example(1, "a"), TestData.Example(2, "b"), new(null, "text only", "a")];
        var hash = ExampleSetHash.Compute(examples);
        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.Equal(hash, ExampleSetHash.Compute(examples.Reverse()));
        Assert.NotEqual(hash, ExampleSetHash.Compute(examples[..2]));
        Assert.NotEqual(hash, ExampleSetHash.Compute([examples[0], examples[1], new(null, "text only", "b")]));
    }
}
