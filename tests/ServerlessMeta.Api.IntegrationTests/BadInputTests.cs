using System.Text;
using System.Text.Json.Nodes;
using ServerlessMeta.Api.IntegrationTests.Infrastructure;

namespace ServerlessMeta.Api.IntegrationTests;

/// <summary>
/// Every bad input of docs/api.md's error table over real HTTP: the status, application/problem+json with
/// matching <c>status</c> and the offending <c>field</c>, and nothing stored. A 5xx fails any test
/// (<see cref="ApiClient"/>).
/// </summary>
public sealed class BadInputTests(BadInputServer server) : IClassFixture<BadInputServer>
{
    private const string Marker = "@RAW@";

    private ApiClient Api => server.Api;

    // ---------------------------------------------------------------- malformed JSON

    [Theory]
    [InlineData("{\"categoryId\": \"ID\", \"examples\": [")]
    [InlineData("{\"categoryId\": \"ID\" \"examples\": []}")]
    [InlineData("{\"categoryId\": \"ID\", \"examples\": [{\"text\": \"a\", \"features\": [1, 2,], \"label\": \"x\"}]}")]
    [InlineData("{'categoryId': 'ID'}")]
    [InlineData("not json at all")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("\"ID\"")]
    public async Task CreateWithMalformedJsonIs400OnBody(string raw)
    {
        var id = TestData.NewId("malformed");
        (await Api.PostRawAsync("api/categories", raw.Replace("ID", id, StringComparison.Ordinal))).IsProblem(400, "body");
        await Probe.AssertAbsentAsync(Api, id, "the body was malformed");
    }

    [Fact]
    public async Task CreateWithoutAnyBodyIs400OnBody()
    {
        (await Api.PostRawAsync("api/categories", null)).IsProblem(400, "body");
    }

    [Fact]
    public async Task FeedbackPredictIngestAndPretrainingWithMalformedJsonAre400OnBodyAndStoreNothing()
    {
        var soft = new SoftChecks();
        var id = await server.ExistingCategoryAsync();
        var before = await Probe.SnapshotAsync(Api, id);
        await soft.RunAsync(string.Empty, async () => (await Api.PostRawAsync($"api/categories/{id}/feedback", "{\"examples\": [{\"label\": ")).IsProblem(400, "body"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostRawAsync($"api/categories/{id}/examples", "{\"examples\": [}")).IsProblem(400, "body"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostRawAsync($"api/categories/{id}/predict", "{\"items\": [{]}")).IsProblem(400, "body"));
        await soft.RunAsync(string.Empty, () => Probe.AssertUnchangedAsync(Api, id, before, "every request was malformed"));

        var fresh = TestData.NewId("malformed-ingest");
        await soft.RunAsync(string.Empty, async () => (await Api.PostRawAsync($"api/categories/{fresh}/examples", "{\"examples\": ")).IsProblem(400, "body"));
        await soft.RunAsync(string.Empty, () => Probe.AssertAbsentAsync(Api, fresh, "the ingest body was malformed"));

        var runId = TestData.NewId("malformed-run");
        await soft.RunAsync(string.Empty, async () => (await Api.PostRawAsync("api/pretraining", $"{{\"runId\": \"{runId}\", \"rounds\": }}")).IsProblem(400, "body"));
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/pretraining/{runId}")).HasStatus(404));
        soft.AssertNone();
    }

    // ---------------------------------------------------------------- NaN, infinities, float overflow

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("nan")]
    public async Task CreateWithANanOrInfinityTokenIs400(string token)
    {
        // Not JSON numbers: malformed JSON, so the field is "body" (docs/api.md).
        var id = TestData.NewId("nan");
        (await Api.PostRawAsync("api/categories", WithRawFeature(id, token))).IsProblem(400, "body");
        await Probe.AssertAbsentAsync(Api, id, "a feature was not a finite number");
    }

    [Theory]
    [InlineData("\"NaN\"")]
    [InlineData("\"Infinity\"")]
    [InlineData("\"-Infinity\"")]
    [InlineData("1e39")]
    [InlineData("-1e39")]
    [InlineData("3.5e38")]
    [InlineData("1e400")]
    public async Task CreateWithANonFiniteOrFloatOverflowingFeatureIs400OnTheFeatures(string token)
    {
        var id = TestData.NewId("overflow");
        (await Api.PostRawAsync("api/categories", WithRawFeature(id, token))).IsProblemOnFieldStartingWith(400, "examples[0].features");
        await Probe.AssertAbsentAsync(Api, id, "a feature was not a finite float");
    }

    [Theory]
    [InlineData("1e39")]
    [InlineData("\"NaN\"")]
    public async Task NonFiniteFeaturesInFeedbackIngestAndPredictAre400AndStoreNothing(string token)
    {
        var soft = new SoftChecks();
        var id = await server.ExistingCategoryAsync();
        var before = await Probe.SnapshotAsync(Api, id);
        var examples = new JsonObject { ["examples"] = TestData.Examples(server.ExistingExamples.Take(2)) };
        examples["examples"]![0]!["features"]![1] = Marker;
        var raw = examples.ToJsonString().Replace($"\"{Marker}\"", token, StringComparison.Ordinal);
        await soft.RunAsync(string.Empty, async () => (await Api.PostRawAsync($"api/categories/{id}/feedback", raw)).IsProblemOnFieldStartingWith(400, "examples[0].features"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostRawAsync($"api/categories/{id}/examples", raw)).IsProblemOnFieldStartingWith(400, "examples[0].features"));
        var items = new JsonObject { ["items"] = TestData.Items(server.ExistingExamples.Take(2)) };
        items["items"]![1]!["features"]![3] = Marker;
        var rawItems = items.ToJsonString().Replace($"\"{Marker}\"", token, StringComparison.Ordinal);
        await soft.RunAsync(string.Empty, async () => (await Api.PostRawAsync($"api/categories/{id}/predict", rawItems)).IsProblemOnFieldStartingWith(400, "items[1].features"));
        await soft.RunAsync(string.Empty, () => Probe.AssertUnchangedAsync(Api, id, before, "the features were not finite"));
        soft.AssertNone();
    }

    [Fact]
    public async Task AProblemDoesNotEchoTheRestOfALargeBody()
    {
        // Not in the contract's words, but a problem's detail should name the spot, not copy the request:
        // an unbounded echo turns every malformed 4 MiB request into a 4 MiB error (and log line).
        var id = TestData.NewId("echo");
        var body = TestData.CreateBody(id, TestData.Small("echo", 0, labels: 3, perLabel: 16));
        body["examples"]![0]!["features"]![1] = Marker;
        var raw = body.ToJsonString().Replace($"\"{Marker}\"", "nan", StringComparison.Ordinal);
        var problem = (await Api.PostRawAsync("api/categories", raw)).IsProblemOnFieldStartingWith(400, "body", "examples[0].features");
        var detail = problem.NullableStr("detail") ?? string.Empty;
        Assert.True(detail.Length <= 1000, $"The problem's detail is {detail.Length} characters for a {raw.Length}-character body: {ApiResponse.Truncate(detail, 300)}");
    }

    // ---------------------------------------------------------------- wrong types

    [Theory]
    [InlineData("label-number", "examples[1].label")]
    [InlineData("label-object", "examples[1].label")]
    [InlineData("features-string", "examples[1].features")]
    [InlineData("features-object", "examples[1].features")]
    [InlineData("feature-bool", "examples[1].features")]
    [InlineData("text-number", "examples[1].text")]
    [InlineData("example-string", "examples[1]")]
    [InlineData("categoryId-number", "categoryId")]
    [InlineData("examples-object", "examples")]
    [InlineData("labels-string", "labels")]
    [InlineData("algorithm-number", "algorithm")]
    [InlineData("adaptation-array", "adaptation")]
    [InlineData("steps-string", "adaptation.steps")]
    [InlineData("steps-fraction", "adaptation.steps")]
    [InlineData("learningRate-string", "adaptation.learningRate")]
    public async Task CreateWithAWrongTypeIs400OnThatField(string change, string field)
    {
        var id = TestData.NewId("type");
        var body = ValidCreateBody(id);
        var examples = body["examples"]!.AsArray();
        switch (change)
        {
            case "label-number": examples[1]!["label"] = 5; break;
            case "label-object": examples[1]!["label"] = new JsonObject { ["name"] = "x" }; break;
            case "features-string": examples[1]!["features"] = "0.1, 0.2"; break;
            case "features-object": examples[1]!["features"] = new JsonObject(); break;
            case "feature-bool": examples[1]!["features"]![0] = true; break;
            case "text-number": examples[1]!["text"] = 42; break;
            case "example-string": examples[1] = "an example"; break;
            case "categoryId-number": body["categoryId"] = 12345; break;
            case "examples-object": body["examples"] = new JsonObject { ["label"] = "a" }; break;
            case "labels-string": body["labels"] = "a,b"; break;
            case "algorithm-number": body["algorithm"] = 3; break;
            case "adaptation-array": body["adaptation"] = new JsonArray(1, 2); break;
            case "steps-string": body["adaptation"] = new JsonObject { ["steps"] = "ten" }; break;
            case "steps-fraction": body["adaptation"] = new JsonObject { ["steps"] = 1.5 }; break;
            case "learningRate-string": body["adaptation"] = new JsonObject { ["learningRate"] = "fast" }; break;
            default: throw new ArgumentOutOfRangeException(nameof(change));
        }

        // A feature of the wrong type may be reported on the array or on the element.
        var response = await Api.PostAsync("api/categories", body);
        if (change == "feature-bool")
        {
            response.IsProblemOnFieldStartingWith(400, field);
        }
        else
        {
            response.IsProblem(400, field);
        }

        if (change != "categoryId-number")
        {
            await Probe.AssertAbsentAsync(Api, id, "the request had a field of the wrong type");
        }
    }

    [Fact]
    public async Task FeedbackAndPredictWithWrongTypesAre400AndStoreNothing()
    {
        var soft = new SoftChecks();
        var id = await server.ExistingCategoryAsync();
        var before = await Probe.SnapshotAsync(Api, id);
        var feedback = new JsonObject { ["examples"] = TestData.Examples(server.ExistingExamples.Take(2)) };
        feedback["examples"]![1]!["label"] = 7;
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/feedback", feedback)).IsProblem(400, "examples[1].label"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/examples", feedback)).IsProblem(400, "examples[1].label"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = "all of them" })).IsProblem(400, "items"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = TestData.Items(server.ExistingExamples.Take(1)), ["version"] = "two" })).IsProblem(400, "version"));
        var items = new JsonObject { ["items"] = TestData.Items(server.ExistingExamples.Take(2)) };
        items["items"]![1]!["features"] = "1 2 3";
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/predict", items)).IsProblem(400, "items[1].features"));
        await soft.RunAsync(string.Empty, () => Probe.AssertUnchangedAsync(Api, id, before, "the requests had fields of the wrong type"));
        soft.AssertNone();
    }

    // ---------------------------------------------------------------- missing pieces, labels

    [Theory]
    [InlineData("label-missing", "examples[1].label")]
    [InlineData("label-null", "examples[1].label")]
    [InlineData("categoryId-missing", "categoryId")]
    [InlineData("examples-missing", "examples")]
    [InlineData("examples-empty", "examples")]
    public async Task CreateWithAMissingPieceIs400OnThatField(string change, string field)
    {
        var id = TestData.NewId("missing");
        var body = ValidCreateBody(id);
        switch (change)
        {
            case "label-missing": body["examples"]![1]!.AsObject().Remove("label"); break;
            case "label-null": body["examples"]![1]!["label"] = null; break;
            case "categoryId-missing": body.Remove("categoryId"); break;
            case "examples-missing": body.Remove("examples"); break;
            case "examples-empty": body["examples"] = new JsonArray(); break;
            default: throw new ArgumentOutOfRangeException(nameof(change));
        }

        (await Api.PostAsync("api/categories", body)).IsProblem(400, field);
        await Probe.AssertAbsentAsync(Api, id, "the request lacked a required field");
    }

    [Fact]
    public async Task AnExampleWithNeitherTextNorFeaturesIs400()
    {
        var id = TestData.NewId("empty-example");
        var body = ValidCreateBody(id);
        body["examples"]![1] = new JsonObject { ["label"] = body["examples"]![1]!["label"]!.GetValue<string>() };
        (await Api.PostAsync("api/categories", body)).IsProblemOnFieldStartingWith(400, "examples[1]");
        await Probe.AssertAbsentAsync(Api, id, "an example had neither text nor features");
    }

    [Fact]
    public async Task ADeclaredLabelWithoutExamplesIs400OnLabels()
    {
        var id = TestData.NewId("declared");
        var body = ValidCreateBody(id);
        var labels = body["examples"]!.AsArray().Select(e => e!["label"]!.GetValue<string>()).Distinct().ToList();
        body["labels"] = new JsonArray([.. labels.Append("never-seen").Select(l => (JsonNode)l)]);
        (await Api.PostAsync("api/categories", body)).IsProblemOnFieldStartingWith(400, "labels");
        await Probe.AssertAbsentAsync(Api, id, "a declared label had no example");
    }

    [Fact]
    public async Task AnExampleLabelOutsideTheDeclaredLabelsIs400()
    {
        var id = TestData.NewId("undeclared");
        var body = ValidCreateBody(id);
        var examples = body["examples"]!.AsArray();
        body["labels"] = new JsonArray(examples[0]!["label"]!.GetValue<string>());
        var offending = examples.Select((e, i) => (Label: e!["label"]!.GetValue<string>(), Index: i)).First(e => e.Label != examples[0]!["label"]!.GetValue<string>()).Index;
        (await Api.PostAsync("api/categories", body)).IsProblem(400, f => f == $"examples[{offending}].label" || f?.StartsWith("labels", StringComparison.Ordinal) == true, $"'examples[{offending}].label' or 'labels...'");
        await Probe.AssertAbsentAsync(Api, id, "an example's label was not declared");
    }

    [Fact]
    public async Task FiftyOneLabelsInTheExamplesOfACreateAre400()
    {
        var id = TestData.NewId("labels51");
        var body = new JsonObject { ["categoryId"] = id, ["examples"] = ManyLabels(51) };
        (await Api.PostAsync("api/categories", body)).IsProblemOnFieldStartingWith(400, "labels", "examples");
        await Probe.AssertAbsentAsync(Api, id, "51 labels are more than 50");
    }

    [Fact]
    public async Task FiftyOneLabelsInAnIngestAre400()
    {
        var ingest = TestData.NewId("labels51-ingest");
        (await Api.PostAsync($"api/categories/{ingest}/examples", new JsonObject { ["examples"] = ManyLabels(51) })).IsProblemOnFieldStartingWith(400, "labels", "examples");
        await Probe.AssertAbsentAsync(Api, ingest, "51 labels are more than 50");
    }

    [Fact]
    public async Task FiftyOneDeclaredLabelsAre400OnLabels()
    {
        var id = TestData.NewId("declared51");
        var body = new JsonObject { ["categoryId"] = id, ["examples"] = ManyLabels(51), ["labels"] = new JsonArray([.. Enumerable.Range(0, 51).Select(i => (JsonNode)$"label-{i:D2}")]) };
        (await Api.PostAsync("api/categories", body)).IsProblemOnFieldStartingWith(400, "labels");
        await Probe.AssertAbsentAsync(Api, id, "51 declared labels are more than 50");
    }

    [Fact]
    public async Task FeedbackWithAMissingLabelIs400AndStoresNothing()
    {
        var soft = new SoftChecks();
        var id = await server.ExistingCategoryAsync();
        var before = await Probe.SnapshotAsync(Api, id);
        var feedback = new JsonObject { ["examples"] = TestData.Examples(server.ExistingExamples.Take(2)) };
        feedback["examples"]![0]!.AsObject().Remove("label");
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/feedback", feedback)).IsProblem(400, "examples[0].label"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/examples", feedback)).IsProblem(400, "examples[0].label"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/feedback", new JsonObject { ["examples"] = new JsonArray() })).IsProblem(400, "examples"));
        await soft.RunAsync(string.Empty, () => Probe.AssertUnchangedAsync(Api, id, before, "an example had no label"));

        var fresh = TestData.NewId("ingest-nolabel");
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{fresh}/examples", feedback)).IsProblem(400, "examples[0].label"));
        await soft.RunAsync(string.Empty, () => Probe.AssertAbsentAsync(Api, fresh, "an ingested example had no label"));
        soft.AssertNone();
    }

    // ---------------------------------------------------------------- feature dimension, text length

    [Fact]
    public async Task InconsistentFeatureDimensionWithinACreateIs400OnTheOffendingExample()
    {
        var id = TestData.NewId("dimension");
        var examples = TestData.Small("dimension", 0, labels: 2, perLabel: 3);
        var body = TestData.CreateBody(id, examples);
        body["examples"]![3]!["features"] = TestData.Features(examples[3].Features!.Take(15));
        (await Api.PostAsync("api/categories", body)).IsProblem(400, "examples[3].features");
        await Probe.AssertAbsentAsync(Api, id, "an example had 15 features and the others 16");
    }

    [Fact]
    public async Task AFeatureDimensionOtherThanTheCategorysDataIs400InFeedbackIngestAndPredict()
    {
        var soft = new SoftChecks();
        var id = await server.ExistingCategoryAsync();
        var before = await Probe.SnapshotAsync(Api, id);
        var example = server.ExistingExamples[0];
        var longer = TestData.Example(example);
        longer["features"] = TestData.Features(example.Features!.Append(0.5f));
        var shorter = TestData.Example(example);
        shorter["features"] = TestData.Features(example.Features!.Take(15));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/feedback", new JsonObject { ["examples"] = new JsonArray(longer) })).IsProblem(400, "examples[0].features"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/examples", new JsonObject { ["examples"] = new JsonArray(shorter.DeepClone()) })).IsProblem(400, "examples[0].features"));
        var items = TestData.Items(server.ExistingExamples.Take(3));
        items[2]!["features"] = TestData.Features(example.Features!.Take(15));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = items })).IsProblem(400, "items[2].features"));
        await soft.RunAsync(string.Empty, () => Probe.AssertUnchangedAsync(Api, id, before, "the feature dimension did not match the category's data"));
        soft.AssertNone();
    }

    [Fact]
    public async Task TextOver2000CharactersIs400OnThatText()
    {
        var soft = new SoftChecks();
        var tooLong = new string('a', 2001);
        var id = TestData.NewId("longtext");
        var body = ValidCreateBody(id);
        body["examples"]![1]!["text"] = tooLong;
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync("api/categories", body)).IsProblem(400, "examples[1].text"));
        await soft.RunAsync(string.Empty, () => Probe.AssertAbsentAsync(Api, id, "a text had 2,001 characters"));

        var existing = await server.ExistingCategoryAsync();
        var before = await Probe.SnapshotAsync(Api, existing);
        var feedback = new JsonObject { ["examples"] = TestData.Examples(server.ExistingExamples.Take(1)) };
        feedback["examples"]![0]!["text"] = tooLong;
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{existing}/feedback", feedback)).IsProblem(400, "examples[0].text"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{existing}/examples", feedback)).IsProblem(400, "examples[0].text"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{existing}/predict", new JsonObject { ["items"] = new JsonArray(new JsonObject { ["text"] = tooLong }) })).IsProblem(400, "items[0].text"));
        await soft.RunAsync(string.Empty, () => Probe.AssertUnchangedAsync(Api, existing, before, "a text had 2,001 characters"));

        // The limit itself is accepted.
        await soft.RunAsync("2,000 characters", async () =>
        {
            var atLimit = (await Api.PostAsync($"api/categories/{existing}/predict", new JsonObject { ["items"] = new JsonArray(new JsonObject { ["text"] = new string('a', 2000) }) })).JsonWithStatus(200);
            Assert.Single(atLimit.Arr("predictions"));
        });
        soft.AssertNone();
    }

    [Fact]
    public async Task MoreThan10000ItemsToPredictIs400OnItems()
    {
        var id = await server.ExistingCategoryAsync();
        var items = new JsonArray([.. Enumerable.Range(0, 10_001).Select(i => (JsonNode)new JsonObject { ["text"] = "x" })]);
        (await Api.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = items })).IsProblem(400, "items");
    }

    [Fact]
    public async Task APredictionItemWithNeitherTextNorFeaturesIs400()
    {
        var soft = new SoftChecks();
        var id = await server.ExistingCategoryAsync();
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = new JsonArray(new JsonObject()) })).IsProblemOnFieldStartingWith(400, "items[0]"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/predict", new JsonObject())).IsProblem(400, "items"));
        soft.AssertNone();
    }

    // ---------------------------------------------------------------- adaptation, algorithm

    [Theory]
    [InlineData("steps", 201.0)]
    [InlineData("steps", -1.0)]
    [InlineData("steps", 100000.0)]
    [InlineData("learningRate", 0.0)]
    [InlineData("learningRate", 11.0)]
    [InlineData("learningRate", -0.01)]
    [InlineData("learningRate", 1e-7)]
    public async Task AdaptationOutsideItsBoundsIs400OnCreateAndFeedback(string member, double value)
    {
        var soft = new SoftChecks();
        var field = $"adaptation.{member}";
        JsonNode number = member == "steps" ? JsonValue.Create((int)value) : JsonValue.Create(value);
        var id = TestData.NewId("adapt");
        var body = ValidCreateBody(id);
        body["adaptation"] = new JsonObject { [member] = number };
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync("api/categories", body)).IsProblem(400, field));
        await soft.RunAsync(string.Empty, () => Probe.AssertAbsentAsync(Api, id, $"{field} was {value}"));

        var existing = await server.ExistingCategoryAsync();
        var before = await Probe.SnapshotAsync(Api, existing);
        var feedback = new JsonObject
        {
            ["examples"] = TestData.Examples(server.ExistingExamples.Take(2)),
            ["adaptation"] = new JsonObject { [member] = number.DeepClone() },
        };
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{existing}/feedback", feedback)).IsProblem(400, field));
        await soft.RunAsync(string.Empty, () => Probe.AssertUnchangedAsync(Api, existing, before, $"{field} was {value}"));
        soft.AssertNone();
    }

    [Theory]
    [InlineData("gradient-boosting")]
    [InlineData("")]
    [InlineData("nearest-centroid-please")]
    public async Task AnUnknownAlgorithmIs400OnAlgorithm(string algorithm)
    {
        var soft = new SoftChecks();
        var id = TestData.NewId("algorithm");
        var body = ValidCreateBody(id);
        body["algorithm"] = algorithm;
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync("api/categories", body)).IsProblem(400, "algorithm"));
        await soft.RunAsync(string.Empty, () => Probe.AssertAbsentAsync(Api, id, "the algorithm is unknown"));

        var runId = TestData.NewId("algorithm-run");
        var plan = TestData.TinyPlan(runId);
        plan["algorithm"] = algorithm;
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync("api/pretraining", plan)).IsProblem(400, "algorithm"));
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/pretraining/{runId}")).HasStatus(404));
        soft.AssertNone();
    }

    // ---------------------------------------------------------------- pretraining parameters

    [Theory]
    [InlineData("rounds", 0.0)]
    [InlineData("rounds", -3.0)]
    [InlineData("metaBatchSize", -1.0)]
    [InlineData("metaBatchSize", 0.0)]
    [InlineData("shards", 0.0)]
    [InlineData("ways", 0.0)]
    [InlineData("shots", 0.0)]
    [InlineData("queriesPerClass", 0.0)]
    [InlineData("checkpointPeriod", 0.0)]
    [InlineData("localSteps", 0.0)]
    [InlineData("validationEpisodes", 0.0)]
    [InlineData("testEpisodes", -5.0)]
    [InlineData("hiddenWidth", 0.0)]
    [InlineData("innerLearningRate", 0.0)]
    [InlineData("outerLearningRate", -0.001)]
    public async Task NonPositivePretrainingParametersAre400OnThatParameter(string parameter, double value)
    {
        var runId = TestData.NewId("params");
        var plan = TestData.TinyPlan(runId);
        plan[parameter] = parameter.EndsWith("Rate", StringComparison.Ordinal) ? JsonValue.Create(value) : JsonValue.Create((int)value);
        (await Api.PostAsync("api/pretraining", plan)).IsProblem(400, parameter);
        (await Api.GetAsync($"api/pretraining/{runId}")).HasStatus(404);
    }

    [Theory]
    [InlineData("rounds", "\"six\"")]
    [InlineData("metaBatchSize", "4.5")]
    [InlineData("shards", "true")]
    [InlineData("runId", "42")]
    public async Task PretrainingParametersOfTheWrongTypeAre400OnThatParameter(string parameter, string raw)
    {
        var runId = TestData.NewId("ptype");
        var plan = TestData.TinyPlan(runId);
        plan[parameter] = Marker;
        (await Api.PostRawAsync("api/pretraining", plan.ToJsonString().Replace($"\"{Marker}\"", raw, StringComparison.Ordinal))).IsProblem(400, parameter);
        (await Api.GetAsync($"api/pretraining/{runId}")).HasStatus(404);
    }

    [Fact]
    public async Task MoreShardsThanTasksPerRoundIs400OnShards()
    {
        var runId = TestData.NewId("shards");
        var plan = TestData.TinyPlan(runId);
        plan["shards"] = 8;
        (await Api.PostAsync("api/pretraining", plan)).IsProblem(400, "shards");
        (await Api.GetAsync($"api/pretraining/{runId}")).HasStatus(404);
    }

    // ---------------------------------------------------------------- ids

    public static TheoryData<string> InvalidIds() => new()
    {
        "Jade-bracelets",
        "JADE",
        "ab",
        "a",
        "jade_bracelets",
        "-jade",
        new string('a', 64),
        "jade bracelets",
        "jade.bracelets",
        "jadé",
    };

    [Theory]
    [MemberData(nameof(InvalidIds))]
    public async Task AnInvalidCategoryIdInTheBodyIs400OnCategoryId(string id)
    {
        var before = await ListedAsync(id);
        (await Api.PostAsync("api/categories", ValidCreateBody(id))).IsProblem(400, "categoryId");
        Assert.True(await ListedAsync(id) == before, $"The rejected create stored category '{id}'.");
    }

    [Theory]
    [MemberData(nameof(InvalidIds))]
    public async Task AnInvalidRunIdInTheBodyIs400OnRunId(string id)
    {
        (await Api.PostAsync("api/pretraining", TestData.TinyPlan(id))).IsProblem(400, "runId");
    }

    [Theory]
    [MemberData(nameof(InvalidIds))]
    public async Task AnInvalidIdInTheRouteIs400OnIdOrInstanceId(string id)
    {
        var soft = new SoftChecks();
        var listedBefore = await ListedAsync(id);
        var route = Uri.EscapeDataString(id);
        var examples = new JsonObject { ["examples"] = TestData.Examples(server.ExistingExamples.Take(2)) };
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/categories/{route}")).IsProblem(400, "id"));
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/categories/{route}/versions")).IsProblem(400, "id"));
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/categories/{route}/versions/1/model")).IsProblem(400, "id"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{route}/versions/1/promote", null)).IsProblem(400, "id"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{route}/predict", new JsonObject { ["items"] = TestData.Items(server.ExistingExamples.Take(1)) })).IsProblem(400, "id"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{route}/feedback", examples)).IsProblem(400, "id"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{route}/examples", examples.DeepClone())).IsProblem(400, "id"));
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/pretraining/{route}")).IsProblem(400, "instanceId"));
        await soft.RunAsync(string.Empty, async () => (await Api.DeleteAsync($"api/pretraining/{route}")).IsProblem(400, "instanceId"));
        await soft.RunAsync(string.Empty, async () => Assert.True(await ListedAsync(id) == listedBefore, $"A rejected request stored category '{id}'."));
        soft.AssertNone();
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("one")]
    public async Task AnInvalidVersionInTheRouteIs400OnVersion(string version)
    {
        var soft = new SoftChecks();
        var id = await server.ExistingCategoryAsync();
        var before = await Probe.SnapshotAsync(Api, id);
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/categories/{id}/versions/{version}/model")).IsProblem(400, "version"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/versions/{version}/promote", null)).IsProblem(400, "version"));
        await soft.RunAsync(string.Empty, () => Probe.AssertUnchangedAsync(Api, id, before, "the version was invalid"));
        soft.AssertNone();
    }

    // ---------------------------------------------------------------- unknown things: 404

    [Fact]
    public async Task UnknownCategoryIs404OnIdEverywhereAndFeedbackDoesNotCreateIt()
    {
        var soft = new SoftChecks();
        var id = TestData.NewId("unknown");
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/categories/{id}")).IsProblem(404, "id"));
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/categories/{id}/versions")).IsProblem(404, "id"));
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/categories/{id}/versions/1/model")).IsProblem(404, "id"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/versions/1/promote", null)).IsProblem(404, "id"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = TestData.Items(server.ExistingExamples.Take(1)) })).IsProblem(404, "id"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/feedback", new JsonObject { ["examples"] = TestData.Examples(server.ExistingExamples) })).IsProblem(404, "id"));
        await soft.RunAsync(string.Empty, () => Probe.AssertAbsentAsync(Api, id, "feedback on an unknown category must not create it"));
        soft.AssertNone();
    }

    [Fact]
    public async Task UnknownVersionIs404OnVersion()
    {
        var soft = new SoftChecks();
        var id = await server.ExistingCategoryAsync();
        var before = await Probe.SnapshotAsync(Api, id);
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/categories/{id}/versions/99/model")).IsProblem(404, "version"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/versions/99/promote", null)).IsProblem(404, "version"));
        await soft.RunAsync(string.Empty, async () => (await Api.PostAsync($"api/categories/{id}/predict", new JsonObject { ["items"] = TestData.Items(server.ExistingExamples.Take(1)), ["version"] = 99 })).IsProblem(404, "version"));
        await soft.RunAsync(string.Empty, () => Probe.AssertUnchangedAsync(Api, id, before, "the version does not exist"));
        soft.AssertNone();
    }

    [Fact]
    public async Task UnknownPretrainingRunIs404OnInstanceId()
    {
        var soft = new SoftChecks();
        var runId = TestData.NewId("no-such-run");
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/pretraining/{runId}")).IsProblem(404, "instanceId"));
        await soft.RunAsync(string.Empty, async () => (await Api.DeleteAsync($"api/pretraining/{runId}")).IsProblem(404, "instanceId"));
        soft.AssertNone();
    }

    // ---------------------------------------------------------------- conflicts

    [Fact]
    public async Task CreatingAnExistingCategoryIs409AndChangesNothing()
    {
        var id = await server.ExistingCategoryAsync();
        var before = await Probe.SnapshotAsync(Api, id);
        var body = TestData.CreateBody(id, TestData.Small("conflict", 0, labels: 2, perLabel: 2));
        (await Api.PostAsync("api/categories", body)).IsProblem(409, ["categoryId", "id"]);
        await Probe.AssertUnchangedAsync(Api, id, before, "the category already existed");
    }

    // ---------------------------------------------------------------- keys

    [Fact]
    public async Task MissingOrWrongKeyIs401OnTheKeyHeaderAndStoresNothing()
    {
        var soft = new SoftChecks();
        using var wrong = server.WithKey("wrong-" + server.Key);
        using var wrongCase = server.WithKey(server.Key.ToUpperInvariant());
        var id = TestData.NewId("nokey");
        foreach (var client in new[] { server.Anonymous, wrong, wrongCase })
        {
            await soft.RunAsync(string.Empty, async () => (await client.GetAsync("api/categories")).IsProblem(401, ApiClient.KeyHeader));
            await soft.RunAsync(string.Empty, async () => (await client.GetAsync($"api/categories/{id}")).IsProblem(401, ApiClient.KeyHeader));
            await soft.RunAsync(string.Empty, async () => (await client.GetAsync("api/meta-models")).IsProblem(401, ApiClient.KeyHeader));
            await soft.RunAsync(string.Empty, async () => (await client.PostAsync("api/categories", ValidCreateBody(id))).IsProblem(401, ApiClient.KeyHeader));
            await soft.RunAsync(string.Empty, async () => (await client.PostAsync($"api/categories/{id}/examples", new JsonObject { ["examples"] = TestData.Examples(server.ExistingExamples) })).IsProblem(401, ApiClient.KeyHeader));
            await soft.RunAsync(string.Empty, async () => (await client.PostAsync("api/pretraining", TestData.TinyPlan(id))).IsProblem(401, ApiClient.KeyHeader));
            await soft.RunAsync(string.Empty, async () => (await client.GetAsync($"api/pretraining/{id}")).IsProblem(401, ApiClient.KeyHeader));
            await soft.RunAsync(string.Empty, async () => (await client.DeleteAsync($"api/pretraining/{id}")).IsProblem(401, ApiClient.KeyHeader));
        }

        await soft.RunAsync(string.Empty, async () => (await server.Anonymous.GetAsync($"api/categories?code={Uri.EscapeDataString("wrong-" + server.Key)}")).IsProblem(401, ApiClient.KeyHeader));
        await soft.RunAsync(string.Empty, () => Probe.AssertAbsentAsync(Api, id, "no request carried the right key"));
        await soft.RunAsync(string.Empty, async () => (await Api.GetAsync($"api/pretraining/{id}")).HasStatus(404));
        soft.AssertNone();
    }

    [Fact]
    public async Task TheKeyInTheCodeQueryParameterWorks()
    {
        var categories = (await server.Anonymous.GetAsync($"api/categories?code={Uri.EscapeDataString(server.Key)}")).JsonWithStatus(200);
        Assert.NotNull(categories.Arr("items"));
        (await server.Anonymous.GetAsync($"api/meta-models?code={Uri.EscapeDataString(server.Key)}")).JsonWithStatus(200);
        var id = await server.ExistingCategoryAsync();
        var predicted = (await server.Anonymous.PostAsync($"api/categories/{id}/predict?code={Uri.EscapeDataString(server.Key)}", new JsonObject { ["items"] = TestData.Items(server.ExistingExamples.Take(2)) })).JsonWithStatus(200);
        Assert.Equal(2, predicted.Arr("predictions").Count);
    }

    [Fact]
    public async Task HealthNeedsNoKeyAndIgnoresAWrongOne()
    {
        var health = (await server.Anonymous.GetAsync("api/health")).JsonWithStatus(200);
        Assert.Equal("healthy", health.Str("status"));
        Assert.True(health.Obj("storage").Bool("reachable"));
        Assert.True(health.IsNullOrAbsent("servingMetaModel"), Expect.Describe(health));
        using var wrong = server.WithKey("wrong");
        (await wrong.GetAsync("api/health")).JsonWithStatus(200);
        (await Api.GetAsync("api/health")).JsonWithStatus(200);
    }

    // ---------------------------------------------------------------- unknown fields

    [Fact]
    public async Task UnknownFieldsAreIgnored()
    {
        var id = TestData.NewId("unknown-fields");
        var body = ValidCreateBody(id);
        body["colour"] = "red";
        body["examples"]![0]!["price"] = 12.5;
        body["adaptation"] = new JsonObject { ["momentum"] = 0.9 };
        var created = (await Api.PostAsync("api/categories", body)).JsonWithStatus(201);
        Assert.Equal(1, created.Int("version"));
        var plan = TestData.TinyPlan(TestData.NewId("unknown-fields-run"));
        plan["favouriteColour"] = "blue";
        var started = await Api.PostAsync("api/pretraining", plan);
        Assert.True(started.Status is 202 or 409, $"An unknown pretraining field must be ignored (202, or 409 for too little data), got {started}");
    }

    // ---------------------------------------------------------------- body limit (default 4 MiB)

    [Fact]
    public async Task ABodyOverTheDefault4MiBLimitIs413OnBody()
    {
        var id = TestData.NewId("huge");
        var raw = new StringBuilder(ValidCreateBody(id).ToJsonString().TrimEnd('}'));
        raw.Append(",\"padding\":\"").Append('x', (4 * 1024 * 1024) + 1024).Append("\"}");
        (await Api.PostRawAsync("api/categories", raw.ToString())).IsProblem(413, "body");
        await Probe.AssertAbsentAsync(Api, id, "the body was over the limit");
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>Whether GET /api/categories lists <paramref name="id"/> (compared ignoring case).</summary>
    private async Task<bool> ListedAsync(string id)
    {
        var listed = (await Api.GetAsync("api/categories")).JsonWithStatus(200).Arr("items");
        return listed.Any(i => string.Equals(i!.Str("categoryId"), id, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A valid create body: 2 labels of 2 examples, 16 features and text each.</summary>
    private static JsonObject ValidCreateBody(string id) => TestData.CreateBody(id, TestData.Small("valid", 0, labels: 2, perLabel: 2));

    /// <summary>A create body whose examples[0].features[1] is the raw JSON text <paramref name="token"/>.</summary>
    private static string WithRawFeature(string id, string token)
    {
        var body = ValidCreateBody(id);
        body["examples"]![0]!["features"]![1] = Marker;
        return body.ToJsonString().Replace($"\"{Marker}\"", token, StringComparison.Ordinal);
    }

    /// <summary>One example for each of <paramref name="labels"/> labels.</summary>
    private static JsonArray ManyLabels(int labels)
    {
        var items = TestData.Catalog.GenerateCategory("many", 0).Items;
        return [.. Enumerable.Range(0, labels).Select(i =>
        {
            var example = TestData.Example(items[i % items.Count]);
            example["label"] = $"label-{i:D2}";
            return (JsonNode)example;
        })];
    }
}
