using ServerlessMeta.Storage.Tests.Infrastructure;

namespace ServerlessMeta.Storage.Tests;

/// <summary>Bad ids never reach storage: each is rejected, naming the field, before a single request.</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class IdValidationTests(AzuriteFixture azurite)
{
    public static TheoryData<string> InvalidIds => new()
    {
        "../x",
        "A",
        new string('a', 64),
        "a/b",
        "caf\u00e9",
        "\u0430bc",
        string.Empty,
        "-a",
        "ab",
        "abc ",
        "a.b",
        "ab%2fc",
        "Abc",
        "abc\n",
    };

    [Theory]
    [MemberData(nameof(InvalidIds))]
    public async Task InvalidIdsAreRejectedBeforeAnyStorageCall(string id)
    {
        await using var storage = TestStorage.Create(azurite);
        using var model = new MemoryStream([1, 2, 3]);
        var calls = new (string Field, Func<Task> Call)[]
        {
            ("categoryId", () => storage.Categories.CreateCategoryAsync(id)),
            ("categoryId", () => storage.Categories.GetCategoryAsync(id)),
            ("categoryId", () => storage.Categories.AddVersionAsync(id, model, TestData.Metadata())),
            ("categoryId", () => storage.Categories.GetVersionAsync(id, 1)),
            ("categoryId", () => storage.Categories.GetVersionAsync(id, ModelAlias.Serving)),
            ("categoryId", () => Task.FromResult(storage.Categories.ListVersionsAsync(id))),
            ("categoryId", () => storage.Categories.DownloadVersionAsync(id, 1)),
            ("categoryId", () => storage.Categories.DownloadAsync(id, ModelAlias.Serving)),
            ("categoryId", () => storage.Categories.PromoteAsync(id, 1)),
            ("categoryId", () => storage.Categories.RollbackAsync(id)),
            ("categoryId", () => storage.Datasets.AppendExamplesAsync(id, [TestData.Example(1, "a")])),
            ("categoryId", () => Task.FromResult(storage.Datasets.ReadExamplesAsync(id))),
            ("categoryId", () => Task.FromResult(storage.Datasets.ReadExamplesAsync(new CategorySnapshot(id, 1, new Dictionary<string, long>(), [10])))),
            ("categoryId", () => storage.Datasets.SampleExamplesAsync(id, 5, seed: 1)),
            ("runId", () => storage.Artifacts.CreateAsync(id, "snapshot.json", BinaryData.FromBytes([1, 2, 3]))),
            ("runId", () => storage.Artifacts.FindAsync(id, "snapshot.json")),
            ("runId", () => storage.Artifacts.ReadAsync(id, "snapshot.json")),
            ("runId", () => storage.Artifacts.DeleteAsync(id)),
            ("pretrainingRunId", () => storage.MetaModels.AddVersionAsync(model, new NewMetaModel
            {
                Algorithm = "maml", PretrainingRunId = id, Iterations = 1, DataSnapshotId = "snapshot",
            })),
        };

        Assert.False(StorageIds.IsValid(id));
        foreach (var (field, call) in calls)
        {
            var error = await Assert.ThrowsAsync<ArgumentException>(call);
            Assert.Equal(field, error.ParamName);
            Assert.Contains(field, error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, storage.Hook.Count);

        // The hook does see requests: a valid id goes to storage.
        await Assert.ThrowsAsync<CategoryNotFoundException>(() => storage.Categories.GetCategoryAsync("valid-id"));
        Assert.True(storage.Hook.Count > 0);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("0ab")]
    [InlineData("a-b-")]
    [InlineData("jade-bracelets")]
    [InlineData("a--b")]
    public void ValidIdsPass(string id) => Assert.True(StorageIds.IsValid(id));

    [Fact]
    public void SixtyThreeCharactersPassAndSixtyFourDoNot()
    {
        Assert.True(StorageIds.IsValid(new string('z', 63)));
        Assert.False(StorageIds.IsValid(new string('z', 64)));
        Assert.False(StorageIds.IsValid(null));
    }
}
