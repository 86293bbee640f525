using System.Text.Json.Nodes;
using ServerlessMeta.Api.IntegrationTests.Infrastructure;
using ServerlessMeta.Learning.Data;
using Xunit.Abstractions;

namespace ServerlessMeta.Api.IntegrationTests;

/// <summary>Simultaneous requests on one category over real HTTP and real storage.</summary>
public sealed class ConcurrencyTests(ConcurrencyServer server, ITestOutputHelper output) : IClassFixture<ConcurrencyServer>
{
    private ApiClient Api => server.Api;

    [Fact]
    public async Task TwoSimultaneousFeedbackCallsProduceTwoDistinctVersionsAndKeepBothExamples()
    {
        var id = TestData.NewId("race-feedback");
        var category = TestData.Catalog.GenerateCategory("race", 0);
        var (initial, rest) = TestData.Split(category, perLabel: 3, labels: 3);
        (await Api.PostAsync("api/categories", TestData.CreateBody(id, initial))).JsonWithStatus(201);
        var a = TestData.Interleave(rest).Take(3).ToList();
        var b = TestData.Interleave(rest).Skip(3).Take(5).ToList();
        var labels = initial.Select(e => TestData.ShortLabel(e.Label)).Distinct(StringComparer.Ordinal).ToList();

        var responses = await Task.WhenAll(
            Api.PostAsync($"api/categories/{id}/feedback", new JsonObject { ["examples"] = TestData.Examples(a) }),
            Api.PostAsync($"api/categories/{id}/feedback", new JsonObject { ["examples"] = TestData.Examples(b) }));

        var bodies = responses.Select(r => r.JsonWithStatus(201)).ToList();
        var versions = bodies.Select(body => body.Int("version")).ToList();
        output.WriteLine($"feedback versions: {string.Join(", ", versions)}; examples seen: {string.Join(", ", bodies.Select(x => x.Obj("metrics").Int("examples")))}");
        Assert.True(versions[0] != versions[1], $"Two feedback calls got the same version {versions[0]}:\n{responses[0]}\n{responses[1]}");
        Assert.Equal([2, 3], versions.Order());
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal($"/api/categories/{id}/versions/{versions[i]}/model", Expect.PathOf(responses[i].Location));
            var own = i == 0 ? a.Count : b.Count;
            var seen = bodies[i].Obj("metrics").Int("examples");
            Assert.True(seen >= initial.Count + own && seen <= initial.Count + a.Count + b.Count, $"Version {versions[i]} was adapted on {seen} examples: {responses[i]}");
        }

        var listed = (await Api.GetAsync($"api/categories/{id}/versions")).JsonWithStatus(200).Arr("items");
        Assert.Equal([1, 2, 3], listed.Select(v => v!.Int("version")).Order());
        Assert.Single(listed, v => v!.Bool("serving"));
        var stored = (await Api.GetAsync($"api/categories/{id}")).JsonWithStatus(200);
        Assert.True(stored.Long("exampleCount") == initial.Count + a.Count + b.Count, $"Both feedback calls' examples must be kept (no lost append): {Expect.Describe(stored)}");
        Assert.Equal(labels.Order(StringComparer.Ordinal), stored.Strings("labels").Order(StringComparer.Ordinal));
        Assert.Equal(3, stored.Int("latestVersion"));
        Assert.True(stored.Int("servingVersion") == 3, $"After both feedback calls the newest version (3) should be served, not an older one: {Expect.Describe(stored)}");

        // Both new versions are usable.
        foreach (var version in new[] { 2, 3 })
        {
            var predicted = (await Api.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = TestData.Items(rest.Take(2)), ["version"] = version })).JsonWithStatus(200);
            Assert.Equal(version, predicted.Int("version"));
        }
    }

    [Fact]
    public async Task TwoSimultaneousCreatesOfOneIdGiveOne201AndOne409AndOneVersion()
    {
        for (var round = 0; round < 3; round++)
        {
            var id = TestData.NewId("race-create");
            List<LabelledItem> first = TestData.Small("race-a", round, labels: 2, perLabel: 3);
            List<LabelledItem> second = TestData.Small("race-b", round, labels: 3, perLabel: 3);

            var responses = await Task.WhenAll(
                Api.PostAsync("api/categories", TestData.CreateBody(id, first)),
                Api.PostAsync("api/categories", TestData.CreateBody(id, second)));

            var statuses = responses.Select(r => r.Status).ToList();
            output.WriteLine($"round {round}: {string.Join(", ", statuses)}");
            Assert.True(statuses.Order().SequenceEqual([201, 409]), $"Expected exactly one 201 and one 409:\n{responses[0]}\n{responses[1]}");
            var winner = statuses[0] == 201 ? 0 : 1;
            var winnerExamples = winner == 0 ? first : second;
            responses[1 - winner].IsProblem(409, ["categoryId", "id"]);
            Assert.Equal(1, responses[winner].JsonWithStatus(201).Int("version"));

            var versions = (await Api.GetAsync($"api/categories/{id}/versions")).JsonWithStatus(200).Arr("items");
            Assert.True(versions.Count == 1, $"Exactly one version should exist: {Expect.Describe(versions)}");
            var stored = (await Api.GetAsync($"api/categories/{id}")).JsonWithStatus(200);
            Assert.True(stored.Long("exampleCount") == winnerExamples.Count, $"Only the winner's {winnerExamples.Count} examples may be stored: {Expect.Describe(stored)}");
            Assert.Equal(
                winnerExamples.Select(e => TestData.ShortLabel(e.Label)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal),
                stored.Strings("labels").Order(StringComparer.Ordinal));
            Assert.Equal(1, stored.Int("servingVersion"));
            Assert.Equal(1, stored.Int("latestVersion"));
        }
    }
}
