using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using ServerlessMeta.Api.IntegrationTests.Infrastructure;
using ServerlessMeta.Learning.Data;
using Xunit.Abstractions;

namespace ServerlessMeta.Api.IntegrationTests;

/// <summary>
/// The whole user journey over real HTTP, on a real Azurite and the real Durable Task engine: health,
/// bulk ingest, a category before any meta-model, durable pretraining, the meta-model list, a category
/// adapted from the served meta-model, predict, feedback, versions, model download, rollback, run control.
/// </summary>
public sealed class UserJourneyTests(JourneyServer server, ITestOutputHelper output) : IClassFixture<JourneyServer>
{
    private const int CatalogueCategories = 14;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task IngestPretrainCreatePredictFeedbackDownloadPromoteAndControlRuns()
    {
        var soft = new SoftChecks();
        try
        {
            await JourneyAsync(soft);
        }
        finally
        {
            soft.WriteTo(output);
        }

        soft.AssertNone();
    }

    private async Task JourneyAsync(SoftChecks soft)
    {
        var api = server.Api;
        var p = TestData.NewId("j");

        // ---- Health: anonymous, storage reachable, no meta-model yet ----
        var health = (await server.Anonymous.GetAsync("api/health")).JsonWithStatus(200);
        Assert.Equal("healthy", health.Str("status"));
        Assert.True(health.Obj("storage").Bool("reachable"), Expect.Describe(health));
        Assert.True(health.IsNullOrAbsent("servingMetaModel"), $"No meta-model exists yet: {Expect.Describe(health)}");
        Assert.False(string.IsNullOrWhiteSpace(health.Str("buildVersion")));
        Assert.Empty((await api.GetAsync("api/meta-models")).JsonWithStatus(200).Arr("items"));

        // ---- Bulk ingest of a synthetic catalogue (the first category in two calls: 201 then 200) ----
        var catalogue = TestData.Catalog.Generate("cat", CatalogueCategories);
        for (var c = 0; c < catalogue.Count; c++)
        {
            var catId = $"{p}-cat-{c:D2}";
            var items = catalogue[c].Items;
            List<LabelledItem>[] parts = c == 0 ? [[.. items.Where((_, i) => i % 4 != 0)], [.. items.Where((_, i) => i % 4 == 0)]] : [[.. items]];
            long count = 0;
            for (var part = 0; part < parts.Length; part++)
            {
                var response = await api.PostAsync($"api/categories/{catId}/examples", new JsonObject { ["examples"] = TestData.Examples(parts[part]) });
                var body = response.JsonWithStatus(part == 0 ? 201 : 200);
                count += parts[part].Count;
                Assert.Equal(catId, body.Str("categoryId"));
                Assert.Equal(part == 0, body.Bool("created"));
                Assert.Equal(parts[part].Count, body.Int("appended"));
                Assert.Equal(count, body.Long("exampleCount"));
                var expectedCounts = parts.Take(part + 1).SelectMany(x => x)
                    .GroupBy(i => TestData.ShortLabel(i.Label), StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count(), StringComparer.Ordinal);
                var labelCounts = body.Obj("labelCounts");
                Assert.Equal(expectedCounts.Count, labelCounts.Count);
                foreach (var (label, n) in expectedCounts)
                {
                    Assert.True(labelCounts[label]?.GetValue<long>() == n, $"labelCounts[{label}] should be {n}: {response}");
                }
            }

            var stored = (await api.GetAsync($"api/categories/{catId}")).JsonWithStatus(200);
            Assert.Equal(items.Count, stored.Long("exampleCount"));
            Assert.True(stored.IsNullOrAbsent("servingVersion") && stored.IsNullOrAbsent("latestVersion"), $"Ingest adapts nothing: {Expect.Describe(stored)}");
        }

        // ---- A category created before any meta-model: adapted from scratch ----
        var earlyId = $"{p}-early";
        var early = TestData.Small("early", 0, labels: 3, perLabel: 4);
        var earlyResponse = await api.PostAsync("api/categories", TestData.CreateBody(earlyId, early));
        var earlyBody = earlyResponse.JsonWithStatus(201);
        Assert.Equal($"/api/categories/{earlyId}", Expect.PathOf(earlyResponse.Location));
        soft.Run("create before any meta-model", () => ModelResults.Check(earlyBody, earlyId, 1, null, early.Select(e => TestData.ShortLabel(e.Label)), early.Count));
        var earlyNote = earlyBody.NullableStr("note");
        soft.Run("note before any meta-model", () =>
        {
            Assert.False(string.IsNullOrWhiteSpace(earlyNote), $"With no meta-model the note should say the model was adapted from scratch: {earlyResponse}");
            Assert.True(earlyNote.Contains("scratch", StringComparison.OrdinalIgnoreCase) || earlyNote.Contains("meta-model", StringComparison.OrdinalIgnoreCase), $"note: {earlyNote}");
        });
        output.WriteLine($"before pretraining: chosen {earlyBody.Obj("metrics").Str("chosen")}, note: {earlyNote}");

        // ---- Durable pretraining ----
        var runId = $"{p}-run";
        var stopwatch = Stopwatch.StartNew();
        var start = await api.PostAsync("api/pretraining", TestData.TinyPlan(runId));
        var started = start.JsonWithStatus(202);
        Assert.Equal(runId, started.Str("instanceId"));
        var statusUri = started.Str("statusUri");
        Assert.NotNull(start.Location);
        Assert.Equal(Expect.PathOf(new Uri(statusUri, UriKind.RelativeOrAbsolute)), Expect.PathOf(start.Location));
        Assert.Equal($"/api/pretraining/{runId}", Expect.PathOf(start.Location));

        var final = await PollUntilDoneAsync(api, statusUri, RunTimeout);
        output.WriteLine($"pretraining took {stopwatch.Elapsed.TotalSeconds:F1} s: {Expect.Describe(final)}");
        Assert.True(final.Str("runtimeStatus") == "Completed", $"The run should complete: {Expect.Describe(final)}");
        Assert.Equal(runId, final.Str("instanceId"));
        Assert.True(final.IsNullOrAbsent("failure"), Expect.Describe(final));
        var createdAt = final.Time("createdAt");
        Assert.True(final.Time("lastUpdatedAt") >= createdAt, Expect.Describe(final));
        var progress = final.Obj("progress");
        Assert.Equal(6, progress.Int("round"));
        Assert.Equal(6, progress.Int("rounds"));
        Assert.True(double.IsFinite(progress.Dbl("metaLossAverage")), Expect.Describe(progress));
        progress.Fraction("heldOutAccuracy");
        var outcome = final.Obj("output");
        var served = outcome.Bool("served");
        var reason = outcome.Str("reason");
        Assert.False(string.IsNullOrWhiteSpace(reason));
        Assert.Equal(runId, outcome.Str("runId"));
        Assert.Equal(6, outcome.Int("rounds"));
        var testAccuracy = outcome.Fraction("testAccuracy");
        var baselineAccuracy = outcome.Fraction("baselineAccuracy");
        int? servedVersion = served ? outcome.Int("version") : null;
        Assert.True(served || outcome.IsNullOrAbsent("version"), $"An unserved run registers no version: {Expect.Describe(outcome)}");
        Assert.True(!served || testAccuracy > baselineAccuracy, $"A served meta-model beats nearest centroid: {Expect.Describe(outcome)}");
        output.WriteLine($"served={served} version={servedVersion} test={testAccuracy:F3} baseline={baselineAccuracy:F3}: {reason}");

        // ---- The meta-model list agrees with the run's output ----
        var metaModels = (await api.GetAsync("api/meta-models")).JsonWithStatus(200).Arr("items");
        if (served)
        {
            var metaModel = Assert.Single(metaModels)!;
            Assert.Equal(servedVersion, metaModel.Int("version"));
            Assert.Equal("protonet", metaModel.Str("algorithm"));
            Assert.True(metaModel.Time("createdAt") >= createdAt.AddMinutes(-1), Expect.Describe(metaModel));
            Assert.NotNull(metaModel.Obj("metrics"));
            Assert.True(metaModel.Bool("serving"), Expect.Describe(metaModel));
            var lineage = metaModel.Obj("lineage");
            Assert.Equal(runId, lineage.Str("pretrainingRunId"));
            Assert.Equal(outcome.Str("dataSnapshotId"), lineage.Str("dataSnapshotId"));
            Assert.True(lineage.Long("iterations") >= 0, Expect.Describe(lineage));
            Assert.NotNull(lineage.Obj("hyperparameters"));

            var servingHealth = (await server.Anonymous.GetAsync("api/health")).JsonWithStatus(200);
            Assert.Equal(servedVersion, servingHealth.Obj("servingMetaModel").Int("version"));
            Assert.Equal("protonet", servingHealth.Obj("servingMetaModel").Str("algorithm"));
        }
        else
        {
            Assert.True(metaModels.Count == 0, $"The run was not served ({reason}), so no meta-model may be listed: {Expect.Describe(metaModels)}");
            output.WriteLine("WARNING: the tiny run did not beat nearest centroid; the rest of the journey runs without a meta-model.");
        }

        // ---- A new category adapted from the served meta-model ----
        var freshCategory = TestData.Catalog.GenerateCategory("fresh", 0);
        var (support, rest) = TestData.Split(freshCategory, perLabel: 4);
        var labels = support.Select(e => TestData.ShortLabel(e.Label)).Distinct(StringComparer.Ordinal).ToList();
        var id = $"{p}-fresh";
        if (served)
        {
            // The serving meta-model fixes the numeric dimension (16): 15 numbers are rejected and nothing is stored.
            var dimensionId = $"{p}-dimension";
            var shortBody = TestData.CreateBody(dimensionId, support);
            for (var i = 0; i < support.Count; i++)
            {
                shortBody["examples"]![i]!["features"] = TestData.Features(support[i].Features!.Take(15));
            }

            await soft.RunAsync("feature dimension vs the serving meta-model", async () =>
            {
                (await api.PostAsync("api/categories", shortBody)).IsProblem(400, "examples[0].features");
                await Probe.AssertAbsentAsync(api, dimensionId, "a create with the wrong feature dimension was rejected");
            });
        }

        var create = await api.PostAsync("api/categories", TestData.CreateBody(id, support));
        var created = create.JsonWithStatus(201);
        Assert.Equal($"/api/categories/{id}", Expect.PathOf(create.Location));
        soft.Run("create from the served meta-model", () => ModelResults.Check(created, id, 1, servedVersion, labels, support.Count));
        output.WriteLine($"created {id}: {Expect.Describe(created)}");
        if (!served)
        {
            soft.Run("note without a meta-model", () => Assert.False(string.IsNullOrWhiteSpace(created.NullableStr("note")), $"Adapted without a meta-model: the note should say so. {create}"));
        }

        var category = (await api.GetAsync($"api/categories/{id}")).JsonWithStatus(200);
        Assert.Equal(id, category.Str("categoryId"));
        Assert.Equal(labels.Order(StringComparer.Ordinal), category.Strings("labels").Order(StringComparer.Ordinal));
        Assert.Equal(support.Count, category.Long("exampleCount"));
        Assert.Equal(1, category.Int("servingVersion"));
        Assert.Equal(1, category.Int("latestVersion"));
        category.Time("createdAt");

        // ---- Predict: one prediction per item, in order, probabilities over the labels summing to 1 ----
        var queries = TestData.Interleave(rest).Take(30).ToList();
        var predicted = (await api.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = TestData.Items(queries) })).JsonWithStatus(200);
        Assert.Equal(id, predicted.Str("categoryId"));
        Assert.Equal(1, predicted.Int("version"));
        var v1Predictions = CheckPredictions(predicted, queries.Count, labels);
        var accuracy = v1Predictions.Zip(queries, (pr, q) => pr.Label == TestData.ShortLabel(q.Label) ? 1.0 : 0.0).Average();
        output.WriteLine($"version 1 accuracy on {queries.Count} held-back items: {accuracy:P1} ({labels.Count} labels)");
        Assert.True(accuracy > 1.0 / labels.Count, $"Version 1 should beat chance ({1.0 / labels.Count:P0}) on held-back items, got {accuracy:P1}.");

        var reversed = (await api.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = TestData.Items(Enumerable.Reverse(queries)) })).JsonWithStatus(200);
        var reversedPredictions = CheckPredictions(reversed, queries.Count, labels);
        AssertSamePredictions(v1Predictions, [.. Enumerable.Reverse(reversedPredictions)], "the same items in reverse order (order must be preserved)");

        // ---- Feedback: version 2, served ----
        var feedbackExamples = TestData.Interleave(rest).Skip(30).Take(2 * labels.Count).ToList();
        var feedback = await api.PostAsync($"api/categories/{id}/feedback", new JsonObject { ["examples"] = TestData.Examples(feedbackExamples) });
        var feedbackBody = feedback.JsonWithStatus(201);
        Assert.Equal($"/api/categories/{id}/versions/2/model", Expect.PathOf(feedback.Location));
        soft.Run("feedback", () => ModelResults.Check(feedbackBody, id, 2, servedVersion, labels, support.Count + feedbackExamples.Count));
        category = (await api.GetAsync($"api/categories/{id}")).JsonWithStatus(200);
        Assert.Equal(2, category.Int("servingVersion"));
        Assert.Equal(2, category.Int("latestVersion"));
        Assert.Equal(support.Count + feedbackExamples.Count, category.Long("exampleCount"));

        var versions = (await api.GetAsync($"api/categories/{id}/versions")).JsonWithStatus(200).Arr("items").Select(v => v!).ToList();
        Assert.Equal([1, 2], versions.Select(v => v.Int("version")).Order());
        foreach (var version in versions)
        {
            var n = version.Int("version");
            Assert.Equal(n == 2, version.Bool("serving"));
            Assert.False(string.IsNullOrWhiteSpace(version.Str("algorithm")));
            Assert.Equal(servedVersion, version.NullableInt("metaModelVersion"));
            version.Time("createdAt");
            Assert.NotNull(version.Obj("metrics"));
            Assert.NotNull(version.Obj("hyperparameters"));
            Assert.True(version.Long("size") > 0);
            Assert.Matches("^[0-9a-fA-F]{64}$", version.Str("sha256"));
        }

        // ---- Model download: verified SMETAMDL bytes of the listed size and hash ----
        var files = new Dictionary<int, byte[]>();
        foreach (var version in versions)
        {
            var n = version.Int("version");
            var download = await api.GetAsync($"api/categories/{id}/versions/{n}/model");
            var header = ModelResults.CheckModelFile(download, version);
            Assert.Equal(labels.Order(StringComparer.Ordinal), header.Strings("labels").Order(StringComparer.Ordinal));
            files[n] = download.Bytes;
        }

        Assert.False(files[1].AsSpan().SequenceEqual(files[2]), "Versions 1 and 2 should be different files.");

        // ---- Rollback: promote 1; predict serves 1 by default and 2 on request ----
        var promoted = (await api.PostAsync($"api/categories/{id}/versions/1/promote", null)).JsonWithStatus(200);
        Assert.Equal(id, promoted.Str("categoryId"));
        Assert.Equal(1, promoted.Int("servingVersion"));
        Assert.Equal(2, promoted.Int("latestVersion"));
        category = (await api.GetAsync($"api/categories/{id}")).JsonWithStatus(200);
        Assert.Equal(1, category.Int("servingVersion"));
        Assert.Equal(2, category.Int("latestVersion"));
        var afterPromote = (await api.GetAsync($"api/categories/{id}/versions")).JsonWithStatus(200).Arr("items");
        Assert.Equal([1], afterPromote.Where(v => v!.Bool("serving")).Select(v => v!.Int("version")));

        var servedByDefault = (await api.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = TestData.Items(queries) })).JsonWithStatus(200);
        Assert.Equal(1, servedByDefault.Int("version"));
        AssertSamePredictions(v1Predictions, CheckPredictions(servedByDefault, queries.Count, labels), "version 1 again after the rollback");
        var pinned = (await api.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = TestData.Items(queries), ["version"] = 2 })).JsonWithStatus(200);
        Assert.Equal(2, pinned.Int("version"));
        CheckPredictions(pinned, queries.Count, labels);

        // ---- Listing ----
        var listed = (await api.GetAsync("api/categories")).JsonWithStatus(200).Arr("items").Select(i => i!).ToList();
        var mine = listed.SingleOrDefault(i => i.Str("categoryId") == id);
        Assert.True(mine is not null, $"GET /api/categories should list {id}.");
        Assert.Equal(1, mine.Int("servingVersion"));
        Assert.Equal(2, mine.Int("latestVersion"));
        Assert.Contains(listed, i => i.Str("categoryId") == earlyId);
        Assert.Contains(listed, i => i.Str("categoryId") == $"{p}-cat-00");

        // ---- An algorithm without a meta-model of its own: adapted from scratch, and said so ----
        var mamlId = $"{p}-maml";
        var mamlExamples = TestData.Small("maml", 0, labels: 2, perLabel: 2);
        var mamlBody = TestData.CreateBody(mamlId, mamlExamples);
        mamlBody["algorithm"] = "maml";
        var maml = (await api.PostAsync("api/categories", mamlBody)).JsonWithStatus(201);
        soft.Run("create with an algorithm that has no meta-model", () =>
        {
            ModelResults.Check(maml, mamlId, 1, null, mamlExamples.Select(e => TestData.ShortLabel(e.Label)), mamlExamples.Count);
            Assert.False(string.IsNullOrWhiteSpace(maml.NullableStr("note")), $"No maml meta-model exists: the note should say so. {Expect.Describe(maml)}");
        });

        // ---- Run control: terminate a completed run (202, stays Completed), unknown runs (404) ----
        (await api.DeleteAsync($"api/pretraining/{runId}")).HasStatus(202);
        Assert.Equal("Completed", (await api.GetAsync($"api/pretraining/{runId}")).JsonWithStatus(200).Str("runtimeStatus"));
        await soft.RunAsync("unknown run", async () =>
        {
            (await api.DeleteAsync($"api/pretraining/{p}-nope")).IsProblem(404, "instanceId");
            (await api.GetAsync($"api/pretraining/{p}-nope")).IsProblem(404, "instanceId");
        });

        // ---- A long run: a second start of the same id while it runs is 409; DELETE terminates it ----
        var longId = $"{p}-long";
        var longStart = (await api.PostAsync("api/pretraining", TestData.TinyPlan(longId, rounds: 1000))).JsonWithStatus(202);
        Assert.Equal(longId, longStart.Str("instanceId"));
        (await api.PostAsync("api/pretraining", TestData.TinyPlan(longId, rounds: 1000))).IsProblem(409, ["runId", "instanceId"]);
        (await api.DeleteAsync($"api/pretraining/{longId}")).HasStatus(202);
        var terminated = await PollUntilDoneAsync(api, longStart.Str("statusUri"), TimeSpan.FromMinutes(1));
        Assert.True(terminated.Str("runtimeStatus") == "Terminated", $"DELETE should terminate the run: {Expect.Describe(terminated)}");
        var metaModelsAfter = (await api.GetAsync("api/meta-models")).JsonWithStatus(200).Arr("items");
        Assert.True(metaModelsAfter.Count == metaModels.Count, $"A terminated run registers no meta-model: {Expect.Describe(metaModelsAfter)}");
    }

    /// <summary>Polls a status URI until the run is no longer Pending or Running; checks progress never goes back.</summary>
    private async Task<JsonObject> PollUntilDoneAsync(ApiClient api, string statusUri, TimeSpan timeout)
    {
        var path = statusUri;
        if (Uri.TryCreate(statusUri, UriKind.Absolute, out var absolute))
        {
            Assert.Equal(api.BaseAddress.Authority, absolute.Authority);
            path = absolute.PathAndQuery;
        }

        path = path.TrimStart('/');
        var stopwatch = Stopwatch.StartNew();
        var lastRound = -1;
        while (true)
        {
            var state = (await api.GetAsync(path)).JsonWithStatus(200);
            var status = state.Str("runtimeStatus");
            Assert.Contains(status, new[] { "Pending", "Running", "Completed", "Failed", "Terminated" });
            if (!state.IsNullOrAbsent("progress") && state["progress"] is JsonObject progress && !progress.IsNullOrAbsent("round"))
            {
                var round = progress.Int("round");
                Assert.True(round >= lastRound, $"Progress went back from round {lastRound} to {round}: {Expect.Describe(state)}");
                if (round != lastRound)
                {
                    output.WriteLine($"{stopwatch.Elapsed.TotalSeconds,6:F1} s {status} {Expect.Describe(progress)}");
                }

                lastRound = round;
            }

            if (status is not ("Pending" or "Running"))
            {
                return state;
            }

            if (stopwatch.Elapsed > timeout)
            {
                Assert.Fail($"The run did not finish within {timeout.TotalSeconds} s: {Expect.Describe(state)}\nServer log:\n{server.Log.Recent()}");
            }

            await Task.Delay(500);
        }
    }

    private static List<(string Label, Dictionary<string, double> Probabilities)> CheckPredictions(JsonObject body, int count, IReadOnlyCollection<string> labels)
    {
        var predictions = body.Arr("predictions");
        Assert.True(predictions.Count == count, $"Expected one prediction per item ({count}): {Expect.Describe(body)}");
        var result = new List<(string, Dictionary<string, double>)>();
        foreach (var prediction in predictions.Select(p => p!))
        {
            var probabilities = prediction.Obj("probabilities").ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>(), StringComparer.Ordinal);
            Assert.True(labels.Order(StringComparer.Ordinal).SequenceEqual(probabilities.Keys.Order(StringComparer.Ordinal)), $"Probabilities should cover exactly the labels: {Expect.Describe(prediction)}");
            Assert.All(probabilities.Values, v => Assert.InRange(v, 0.0, 1.0));
            var sum = probabilities.Values.Sum();
            Assert.True(Math.Abs(sum - 1) <= 1e-4, $"Probabilities sum to {sum.ToString("R", CultureInfo.InvariantCulture)}: {Expect.Describe(prediction)}");
            var label = prediction.Str("label");
            Assert.True(probabilities[label] >= probabilities.Values.Max(), $"The label should be the most probable one: {Expect.Describe(prediction)}");
            result.Add((label, probabilities));
        }

        return result;
    }

    private static void AssertSamePredictions(
        List<(string Label, Dictionary<string, double> Probabilities)> expected, List<(string Label, Dictionary<string, double> Probabilities)> actual, string what)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var difference = expected[i].Probabilities.Max(kv => Math.Abs(kv.Value - actual[i].Probabilities[kv.Key]));
            Assert.True(difference <= 1e-5, $"Prediction {i} differs by {difference:E2} for {what}.");
        }
    }
}
