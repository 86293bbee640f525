using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ServerlessMeta.Api.IntegrationTests.Infrastructure;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Api.IntegrationTests;

/// <summary>A serving version whose blob is corrupted in storage (real Azurite): predict falls back and says so; promote refuses it.</summary>
public sealed class IntegrityTests(IntegrityServer server) : IClassFixture<IntegrityServer>
{
    [Fact]
    public async Task Predict_falls_back_from_a_corrupt_serving_version_and_promote_refuses_it()
    {
        var api = server.Api;
        var id = TestData.NewId("integrity");
        JsonObject Example(string text, string label) => new() { ["text"] = text, ["label"] = label };
        (await api.PostAsync("api/categories", new JsonObject
        {
            ["categoryId"] = id,
            ["examples"] = new JsonArray(Example("green jade bangle", "bangle"), Example("carved jade cuff", "bangle"), Example("jade bead bracelet", "beaded"), Example("stretch bracelet of jade beads", "beaded")),
        })).JsonWithStatus(201);
        (await api.PostAsync($"api/categories/{id}/feedback", new JsonObject { ["examples"] = new JsonArray(Example("nephrite bangle", "bangle"), Example("8 mm jade beads on cord", "beaded")) })).JsonWithStatus(201);
        var items = new JsonObject { ["items"] = new JsonArray(new JsonObject { ["text"] = "jade bangle" }) };

        // Flip a byte of version 2's blob (serving) behind the service's back, before anything loaded it.
        var registry = server.Server.Services.GetRequiredService<CategoryRegistry>();
        var version2 = await registry.GetVersionAsync(id, 2);
        var container = server.Server.Services.GetRequiredService<BlobServiceClient>()
            .GetBlobContainerClient(server.Server.Services.GetRequiredService<IOptions<StorageOptions>>().Value.ContainerName);
        var blob = container.GetBlobClient(version2.BlobName);
        var bytes = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        bytes[bytes.Length / 2] ^= 0xFF;
        await blob.UploadAsync(new BinaryData(bytes), overwrite: true);
        {
            var client = api;
            var fallback = (await client.PostAsync($"api/categories/{id}/predict", items)).JsonWithStatus(200);
            Assert.Equal(1, fallback.Int("version"));
            Assert.Contains("Serving version 2", fallback.Str("warning"), StringComparison.Ordinal);
            Assert.Equal("bangle", fallback.Arr("predictions")[0]!.Str("label"));

            // An explicit version never falls back: a problem of its own type naming the version.
            var explicitVersion = (await client.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = items["items"]!.DeepClone(), ["version"] = 2 })).IsProblem(409, "version");
            Assert.EndsWith("/model-integrity", explicitVersion.Str("type"), StringComparison.Ordinal);
            Assert.Contains("version 2", explicitVersion.Str("detail"), StringComparison.Ordinal);

            // Promote refuses it (409 naming why) and moves nothing; a good version still promotes.
            var refused = (await client.PostAsync($"api/categories/{id}/versions/2/promote", null)).IsProblem(409, "version");
            Assert.Contains("failed verification", refused.Str("detail"), StringComparison.Ordinal);
            Assert.Equal(2, (await registry.GetCategoryAsync(id)).ServingVersion);
            (await client.PostAsync($"api/categories/{id}/versions/1/promote", null)).JsonWithStatus(200);
            var promoted = (await client.PostAsync($"api/categories/{id}/predict", items)).JsonWithStatus(200);
            Assert.Equal(1, promoted.Int("version"));
            Assert.True(promoted.IsNullOrAbsent("warning"));
        }
    }
}
