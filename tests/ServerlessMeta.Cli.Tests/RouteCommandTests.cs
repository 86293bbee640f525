using System.Text.Json.Nodes;
using ServerlessMeta.Cli.Serving;

namespace ServerlessMeta.Cli.Tests;

/// <summary>The thin HTTP commands (ingest, create, feedback, predict, versions, promote) against a running LocalServer.</summary>
[Collection(ConsoleCapture.Name)]
public sealed class RouteCommandTests : IClassFixture<LocalServerFixture>, IDisposable
{
    private static readonly string[] Labels = ["bangle", "beaded", "charm"];
    private readonly LocalServerFixture _server;
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("smeta-cli-http-");

    public RouteCommandTests(LocalServerFixture server) => _server = server;

    public void Dispose() => _directory.Delete(recursive: true);

    private (int Exit, string Output, string Error) Smeta(params string[] args) =>
        ConsoleCapture.Run([.. args, "--url", _server.Url, "--key", LocalServerFixture.Key]);

    /// <summary>Three well separated labels: 4 numbers (the label's mean shifted on its own axis) and a word.</summary>
    private static IEnumerable<JsonObject> Examples(int perLabel, int seed, string? categoryId = null, bool withLabel = true)
    {
        var random = new Random(seed);
        for (var i = 0; i < perLabel; i++)
        {
            for (var l = 0; l < Labels.Length; l++)
            {
                var features = new JsonArray([.. Enumerable.Range(0, 4).Select(d => (JsonNode)JsonValue.Create(Math.Round((d == l ? 4.0 : 0.0) + random.NextDouble() - 0.5, 3)))]);
                var item = new JsonObject();
                if (categoryId is not null)
                {
                    item["categoryId"] = categoryId;
                }

                item["text"] = $"{Labels[l]} jade {random.Next(100)}";
                item["features"] = features;
                if (withLabel)
                {
                    item["label"] = Labels[l];
                }

                yield return item;
            }
        }
    }

    private string Write(string name, IEnumerable<JsonObject> lines)
    {
        var path = Path.Combine(_directory.FullName, name);
        File.WriteAllLines(path, lines.Select(l => l.ToJsonString()));
        return path;
    }

    private static string Id(string stem) => $"{stem}-{Guid.NewGuid().ToString("N")[..8]}";

    [Fact]
    public async Task IngestGroupsLinesPerCategoryAndStoresThem()
    {
        var (a, b) = (Id("ingest-a"), Id("ingest-b"));
        var file = Write("history.jsonl", Examples(4, 1, a).Concat(Examples(2, 2, b)));

        var (exit, output, error) = Smeta("ingest", file, "--batch-size", "5");

        Assert.True(exit == 0, error);
        Assert.Contains($"{a}: +12 examples (new category)", output, StringComparison.Ordinal);
        Assert.Contains($"{b}: +6 examples (new category)", output, StringComparison.Ordinal);
        Assert.Contains("ingested 18 examples into 2 categories (2 new)", output, StringComparison.Ordinal);
        var (status, category) = await _server.GetAsync($"api/categories/{a}");
        Assert.Equal(200, status);
        Assert.Equal(12, category!["exampleCount"]!.GetValue<long>());

        // Again, as JSON: one response per request (batches of 5), nothing created.
        (exit, output, error) = Smeta("ingest", file, "--batch-size", "5", "--json");
        Assert.True(exit == 0, error);
        var responses = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(3 + 2, responses.Count);
        Assert.All(responses, r => Assert.False(r["created"]!.GetValue<bool>()));
        Assert.Equal(24, responses.Last(r => r["categoryId"]!.GetValue<string>() == a)["exampleCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task VersionsOfAnUnknownCategoryExitsTwoWithTheProblemOnStderr()
    {
        var (status, problem) = await _server.GetAsync("api/categories/no-such-category/versions");
        Assert.Equal(404, status);

        var (exit, output, error) = Smeta("versions", "no-such-category");

        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, output);
        Assert.Contains("404", error, StringComparison.Ordinal);
        Assert.Contains(problem!["title"]!.GetValue<string>(), error, StringComparison.Ordinal);
        Assert.Contains(problem["detail"]!.GetValue<string>(), error, StringComparison.Ordinal);
        Assert.Contains("(field: id)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void CreatePredictFeedbackVersionsPromote()
    {
        var id = Id("jade");
        var examples = Write("examples.jsonl", Examples(5, 3));
        var items = Write("items.jsonl", Examples(4, 4));
        var more = Write("more.json", []);
        File.WriteAllText(more, new JsonArray([.. Examples(3, 5)]).ToJsonString());

        var (exit, output, error) = Smeta("create", id, "--examples", examples, "--steps", "5");
        Assert.True(exit == 0, error);
        Assert.Contains($"{id} version 1:", output, StringComparison.Ordinal);
        Assert.Contains("3 labels (bangle, beaded, charm)", output, StringComparison.Ordinal);
        Assert.Contains("estimated accuracy", output, StringComparison.Ordinal);

        // Readable: one row per item, scored against the labels in the file.
        (exit, output, error) = Smeta("predict", id, "--items", items);
        Assert.True(exit == 0, error);
        Assert.Contains($"{id} version 1: 12 predictions", output, StringComparison.Ordinal);
        Assert.Contains("accuracy 100.0% (12/12 labelled items)", output, StringComparison.Ordinal);

        // JSON: the API's body, probabilities summing to 1.
        (exit, output, error) = Smeta("predict", id, "--items", items, "--json");
        Assert.True(exit == 0, error);
        var predictions = JsonNode.Parse(output)!["predictions"]!.AsArray();
        Assert.Equal(12, predictions.Count);
        Assert.All(predictions, p => Assert.Equal(1.0, p!["probabilities"]!.AsObject().Sum(kv => kv.Value!.GetValue<double>()), 3));

        (exit, output, error) = Smeta("feedback", id, "--examples", more);
        Assert.True(exit == 0, error);
        Assert.Contains($"{id} version 2:", output, StringComparison.Ordinal);

        (exit, output, error) = Smeta("versions", id);
        Assert.True(exit == 0, error);
        Assert.Contains($"{id}: 2 versions", output, StringComparison.Ordinal);
        var rows = output.Split('\n').Where(l => l.TrimStart().StartsWith('1') || l.TrimStart().StartsWith('2')).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Contains('*', rows.Single(r => r.TrimStart().StartsWith('2')));

        (exit, output, error) = Smeta("promote", id, "1");
        Assert.True(exit == 0, error);
        Assert.Contains($"{id}: serving version 1 (latest 2)", output, StringComparison.Ordinal);

        (exit, output, error) = Smeta("versions", id, "--json");
        Assert.True(exit == 0, error);
        var versions = JsonNode.Parse(output)!["items"]!.AsArray();
        Assert.Equal(1, versions.Single(v => v!["serving"]!.GetValue<bool>())!["version"]!.GetValue<int>());

        // The serving version answers by default; --version picks another.
        (exit, output, _) = Smeta("predict", id, "--items", items, "--json");
        Assert.Equal(0, exit);
        Assert.Equal(1, JsonNode.Parse(output)!["version"]!.GetValue<int>());
        (exit, output, _) = Smeta("predict", id, "--items", items, "--version", "2", "--json");
        Assert.Equal(0, exit);
        Assert.Equal(2, JsonNode.Parse(output)!["version"]!.GetValue<int>());
    }

    [Fact]
    public void ClientMistakesExitTwoAndUnreachableServiceExitsOne()
    {
        var id = Id("dup");
        var examples = Write("examples.jsonl", Examples(2, 6));
        Assert.Equal(0, Smeta("create", id, "--examples", examples).Exit);

        var (exit, _, error) = Smeta("create", id, "--examples", examples);
        Assert.Equal(2, exit);
        Assert.Contains("409", error, StringComparison.Ordinal);

        // A wrong key: 401 naming the key header.
        (exit, _, error) = ConsoleCapture.Run("versions", id, "--url", _server.Url, "--key", "wrong");
        Assert.Equal(2, exit);
        Assert.Contains("401", error, StringComparison.Ordinal);
        Assert.Contains("x-functions-key", error, StringComparison.Ordinal);

        // A bad line is reported with its line number and nothing is sent.
        var bad = Path.Combine(_directory.FullName, "bad.jsonl");
        File.WriteAllLines(bad, ["{\"categoryId\": \"bad-lines\", \"text\": \"a\", \"label\": \"x\"}", "{\"categoryId\": \"bad-lines\", \"text\": \"b\"}"]);
        (exit, _, error) = Smeta("ingest", bad);
        Assert.Equal(2, exit);
        Assert.Contains("bad.jsonl:2", error, StringComparison.Ordinal);

        // The server's validation: a field path in the problem.
        var wrongDimension = Write("wrong.jsonl", Examples(2, 7).Select((e, i) =>
        {
            if (i == 3)
            {
                e["features"] = new JsonArray(1.0, 2.0);
            }

            return e;
        }));
        (exit, _, error) = Smeta("create", Id("wrong-dim"), "--examples", wrongDimension);
        Assert.Equal(2, exit);
        Assert.Contains("400", error, StringComparison.Ordinal);
        Assert.Contains("examples[3]", error, StringComparison.Ordinal);

        // Pretraining parameters are validated by the service: 400 for rounds 0, nothing started.
        (exit, _, error) = Smeta("pretrain", "--rounds", "0");
        Assert.Equal(2, exit);
        Assert.Contains("(field: rounds)", error, StringComparison.Ordinal);

        // Nothing listening: exit 1.
        (exit, _, error) = ConsoleCapture.Run("versions", id, "--url", "http://127.0.0.1:1", "--key", "k");
        Assert.Equal(1, exit);
        Assert.Contains("cannot reach the service", error, StringComparison.Ordinal);
    }

    [Fact]
    public void BatchesStayUnderTheCountAndByteLimits()
    {
        var examples = Enumerable.Range(0, 10).Select(i => new JsonObject { ["text"] = new string('x', 100), ["label"] = "a" }).ToList();
        Assert.Equal([4, 4, 2], RouteCommands.Batches(examples, 4, int.MaxValue).Select(b => b.Count));
        var size = examples[0].ToJsonString().Length + 1;
        Assert.Equal([3, 3, 3, 1], RouteCommands.Batches(examples, 100, (3 * size) + 1).Select(b => b.Count));
        Assert.Equal(10, RouteCommands.Batches(examples, 100, 1).Count());
    }

    [Fact]
    public void PercentilesAreNearestRank()
    {
        var values = Enumerable.Range(1, 100).Select(i => (double)i).ToArray();
        Assert.Equal(50, Benchmarks.ApiBenchmark.Percentile(values, 50));
        Assert.Equal(95, Benchmarks.ApiBenchmark.Percentile(values, 95));
        Assert.Equal(99, Benchmarks.ApiBenchmark.Percentile(values, 99));
        Assert.Equal(7, Benchmarks.ApiBenchmark.Percentile([7], 99));
    }
}
