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
    public async Task PredictFallsBackFromACorruptServingVersionAndPromoteRefusesIt()
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

/// <summary>Strict input at the edge (issue 11): content type, byte-order mark, duplicate keys, a body that ends early.</summary>
public sealed class StrictInputTests(IntegrityServer server) : IClassFixture<IntegrityServer>
{
    [Fact]
    public async Task ANonJsonContentTypeIs415AndStoresNothing()
    {
        var id = TestData.NewId("ctype");
        var body = $"{{\"categoryId\":\"{id}\",\"examples\":[{{\"text\":\"a\",\"label\":\"x\"}},{{\"text\":\"b\",\"label\":\"y\"}}]}}";
        var problem = (await server.Api.PostRawAsync("api/categories", body, "text/plain")).IsProblem(415, "Content-Type");
        Assert.Contains("text/plain", problem.Str("detail"), StringComparison.Ordinal);
        (await server.Api.GetAsync($"api/categories/{id}")).IsProblem(404, "id");
        (await server.Api.PostRawAsync("api/categories", body, "application/problem+json")).JsonWithStatus(201);
    }

    [Fact]
    public async Task AUtf8ByteOrderMarkIsAccepted()
    {
        var id = TestData.NewId("bom");
        var body = "\uFEFF" + $"{{\"categoryId\":\"{id}\",\"examples\":[{{\"text\":\"a\",\"label\":\"x\"}},{{\"text\":\"b\",\"label\":\"y\"}}]}}";
        (await server.Api.PostRawAsync("api/categories", body)).JsonWithStatus(201);
    }

    [Fact]
    public async Task DuplicateJsonKeysAre400NamingTheKey()
    {
        var first = TestData.NewId("dup");
        var second = TestData.NewId("dup");
        var body = $"{{\"categoryId\":\"{first}\",\"categoryId\":\"{second}\",\"examples\":[{{\"text\":\"a\",\"label\":\"x\"}},{{\"text\":\"b\",\"label\":\"y\"}}]}}";
        var problem = (await server.Api.PostRawAsync("api/categories", body)).IsProblem(400, "categoryId");
        Assert.Contains("more than once", problem.Str("detail"), StringComparison.Ordinal);
        (await server.Api.GetAsync($"api/categories/{second}")).IsProblem(404, "id");
        (await server.Api.GetAsync($"api/categories/{first}")).IsProblem(404, "id");
    }

    [Fact]
    public async Task ABodyThatEndsBeforeItsContentLengthIs400Body()
    {
        // Raw HTTP: Content-Length 50 bytes more than what is sent, then the client sends nothing more (the
        // connection stays open): the server's body-read deadline (about 5 s) ends it as the client's fault.
        var id = TestData.NewId("short");
        var body = System.Text.Encoding.UTF8.GetBytes($"{{\"categoryId\":\"{id}\",\"examples\":[]}}");
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(server.Server.BaseAddress.Host, server.Server.BaseAddress.Port);
        var stream = tcp.GetStream();
        var head = $"POST /api/categories HTTP/1.1\r\nHost: {server.Server.BaseAddress.Authority}\r\nx-functions-key: {server.Key}\r\nContent-Type: application/json\r\nContent-Length: {body.Length + 50}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
        await stream.WriteAsync(body);
        await stream.FlushAsync();
        using var reader = new StreamReader(stream);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var response = await reader.ReadToEndAsync(timeout.Token);
        Assert.StartsWith("HTTP/1.1 400", response, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", response, StringComparison.Ordinal);
        Assert.Contains("\"field\":\"body\"", response, StringComparison.Ordinal);
        (await server.Api.GetAsync($"api/categories/{id}")).IsProblem(404, "id");
    }
}

/// <summary>Messages in the caller's terms (issue 11, point 5).</summary>
public sealed class CallerTermsTests(IntegrityServer server) : IClassFixture<IntegrityServer>
{
    [Fact]
    public async Task AnArrayBodyIsNamedAsSuch()
    {
        var problem = (await server.Api.PostRawAsync("api/categories", "[{\"categoryId\":\"x\"}]")).IsProblem(400, "body");
        Assert.Contains("must be a JSON object", problem.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnExampleWithBlankTextAndNoFeaturesIsNamed()
    {
        var id = TestData.NewId("blank");
        var body = $"{{\"categoryId\":\"{id}\",\"examples\":[{{\"text\":\"   \",\"label\":\"x\"}},{{\"text\":\"b\",\"label\":\"y\"}}]}}";
        var problem = (await server.Api.PostRawAsync("api/categories", body)).IsProblem(400, "examples[0]");
        Assert.Contains("needs features, text, or both", problem.Str("detail"), StringComparison.Ordinal);
        (await server.Api.GetAsync($"api/categories/{id}")).IsProblem(404, "id");
    }

    [Fact]
    public async Task ALoneSurrogateIsNamedAsInvalidText()
    {
        var id = TestData.NewId("surrogate");
        var body = $"{{\"categoryId\":\"{id}\",\"examples\":[{{\"text\":\"a\\ud800b\",\"label\":\"x\"}},{{\"text\":\"b\",\"label\":\"y\"}}]}}";
        var problem = (await server.Api.PostRawAsync("api/categories", body)).IsProblemOnFieldStartingWith(400, "examples[0].text");
        Assert.Contains("not valid Unicode", problem.Str("detail"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LabelsAreTrimmedAndACaseOnlyDifferenceIsRefusedUnlessAskedFor()
    {
        JsonObject Example(string text, string label) => new() { ["text"] = text, ["label"] = label };
        var id = TestData.NewId("labels");

        // "red" and "red " and " red" are one label.
        var created = (await server.Api.PostAsync("api/categories", new JsonObject
        {
            ["categoryId"] = id,
            ["examples"] = new JsonArray(Example("cherry", "red"), Example("tomato", "red "), Example("brick", " red"), Example("sky", "blue")),
        })).JsonWithStatus(201);
        Assert.Equal(["blue", "red"], created.Strings("labels").Order(StringComparer.Ordinal));

        // "Red" beside "red" is refused, naming the example, and nothing is stored: in a new category...
        var other = TestData.NewId("labels");
        var refused = (await server.Api.PostAsync("api/categories", new JsonObject
        {
            ["categoryId"] = other,
            ["examples"] = new JsonArray(Example("cherry", "red"), Example("tomato", "Red"), Example("sky", "blue")),
        })).IsProblem(400, "examples[1].label");
        Assert.Contains("differs only by case", refused.Str("detail"), StringComparison.Ordinal);
        Assert.Contains("caseSensitiveLabels", refused.Str("detail"), StringComparison.Ordinal);
        (await server.Api.GetAsync($"api/categories/{other}")).IsProblem(404, "id");

        // ...and against the category's own labels, in feedback and in added examples.
        var feedback = (await server.Api.PostAsync($"api/categories/{id}/feedback", new JsonObject { ["examples"] = new JsonArray(Example("strawberry", "RED")) })).IsProblem(400, "examples[0].label");
        Assert.Contains("the category's label \"red\"", feedback.Str("detail"), StringComparison.Ordinal);
        (await server.Api.PostAsync($"api/categories/{id}/examples", new JsonObject { ["examples"] = new JsonArray(Example("navy", "Blue")) })).IsProblem(400, "examples[0].label");
        var unchanged = (await server.Api.GetAsync($"api/categories/{id}")).JsonWithStatus(200);
        Assert.Equal(1, unchanged.Int("servingVersion"));
        Assert.Equal(4, unchanged.Long("exampleCount"));

        // A request that means them as different labels says so.
        var distinct = (await server.Api.PostAsync("api/categories", new JsonObject
        {
            ["categoryId"] = other,
            ["caseSensitiveLabels"] = true,
            ["examples"] = new JsonArray(Example("cherry", "red"), Example("tomato", "Red"), Example("sky", "blue")),
        })).JsonWithStatus(201);
        Assert.Equal(["Red", "blue", "red"], distinct.Strings("labels").Order(StringComparer.Ordinal));
    }
}
