using System.Text;
using System.Text.Json.Nodes;
using ServerlessMeta.Api.IntegrationTests.Infrastructure;

namespace ServerlessMeta.Api.IntegrationTests;

/// <summary>
/// A server configured with a 16 KiB body limit and almost no data: 413 above the limit (with and without
/// Content-Length), requests under it work, and pretraining with too little data is 409.
/// </summary>
public sealed class BodyLimitAndEmptyStoreTests(SmallBodyServer server) : IClassFixture<SmallBodyServer>
{
    private ApiClient Api => server.Api;

    [Fact]
    public async Task ABodyOverTheConfiguredLimitIs413OnBodyAndStoresNothing()
    {
        var id = TestData.NewId("big");
        var raw = OversizedCreateBody(id);
        Assert.True(Encoding.UTF8.GetByteCount(raw) > SmallBodyServer.Limit);
        (await Api.PostRawAsync("api/categories", raw)).IsProblem(413, "body");
        await Probe.AssertAbsentAsync(Api, id, "the body was over the limit");

        var ingest = TestData.NewId("big-ingest");
        var examples = new JsonObject { ["examples"] = ManyExamples() }.ToJsonString();
        Assert.True(Encoding.UTF8.GetByteCount(examples) > SmallBodyServer.Limit);
        (await Api.PostRawAsync($"api/categories/{ingest}/examples", examples)).IsProblem(413, "body");
        await Probe.AssertAbsentAsync(Api, ingest, "the ingest body was over the limit");
    }

    [Fact]
    public async Task AChunkedBodyOverTheConfiguredLimitIs413OnBodyAndStoresNothing()
    {
        var id = TestData.NewId("big-chunked");
        (await Api.PostChunkedAsync("api/categories", OversizedCreateBody(id))).IsProblem(413, "body");
        await Probe.AssertAbsentAsync(Api, id, "the chunked body was over the limit");
    }

    [Fact]
    public async Task ABodyUnderTheConfiguredLimitIsAccepted()
    {
        var id = TestData.NewId("small");
        var body = TestData.CreateBody(id, TestData.Small("small", 0, labels: 2, perLabel: 2));
        Assert.True(Encoding.UTF8.GetByteCount(body.ToJsonString()) < SmallBodyServer.Limit);
        var created = (await Api.PostAsync("api/categories", body)).JsonWithStatus(201);
        Assert.Equal(1, created.Int("version"));
        Assert.True(created.IsNullOrAbsent("metaModelVersion"));
    }

    [Fact]
    public async Task PretrainingWithTooLittleDataIs409AndStartsNothing()
    {
        var runId = TestData.NewId("starved");
        (await Api.PostAsync("api/pretraining", TestData.TinyPlan(runId))).IsProblem(409, f => f is null || f is "body" or "runId" or "data", "absent, 'body', 'runId' or 'data'");
        (await Api.GetAsync($"api/pretraining/{runId}")).HasStatus(404);

        // The default plan (no body) too.
        (await Api.PostRawAsync("api/pretraining", null)).HasStatus(409);
        Assert.Empty((await Api.GetAsync("api/meta-models")).JsonWithStatus(200).Arr("items"));
    }

    private static string OversizedCreateBody(string id)
    {
        var body = new JsonObject { ["categoryId"] = id, ["examples"] = ManyExamples() };
        return body.ToJsonString();
    }

    /// <summary>About 20-25 KB of valid examples (5 or 6 labels of 16).</summary>
    private static JsonArray ManyExamples() => TestData.Examples(TestData.Small("big", 0, labels: 6, perLabel: 16));
}
