namespace ServerlessMeta.Api.IntegrationTests.Infrastructure;

/// <summary>What is stored for a category, as the API shows it.</summary>
internal sealed record CategorySnapshot(long ExampleCount, int? ServingVersion, int? LatestVersion, int Versions, string Labels);

/// <summary>Reads stored state through the API, to show that a rejected request stored nothing.</summary>
internal static class Probe
{
    /// <summary>The category does not exist.</summary>
    public static async Task AssertAbsentAsync(ApiClient api, string id, string because)
    {
        ArgumentNullException.ThrowIfNull(api);
        var response = await api.GetAsync($"api/categories/{id}");
        if (response.Status != 404)
        {
            Assert.Fail($"Category '{id}' should not exist ({because}), but GET answered {response}");
        }
    }

    public static async Task<CategorySnapshot> SnapshotAsync(ApiClient api, string id)
    {
        ArgumentNullException.ThrowIfNull(api);
        var category = (await api.GetAsync($"api/categories/{id}")).JsonWithStatus(200);
        var versions = (await api.GetAsync($"api/categories/{id}/versions")).JsonWithStatus(200);
        return new CategorySnapshot(
            category.Long("exampleCount"),
            category.NullableInt("servingVersion"),
            category.NullableInt("latestVersion"),
            versions.Arr("items").Count,
            string.Join(",", category.Strings("labels").Order(StringComparer.Ordinal)));
    }

    /// <summary>The category's stored state is what it was before a rejected request.</summary>
    public static async Task AssertUnchangedAsync(ApiClient api, string id, CategorySnapshot before, string because)
    {
        var after = await SnapshotAsync(api, id);
        if (after != before)
        {
            Assert.Fail($"Category '{id}' changed although {because}: before {before}, after {after}.");
        }
    }
}
