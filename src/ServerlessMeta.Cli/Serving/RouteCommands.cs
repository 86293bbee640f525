using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ServerlessMeta.Application.Categories;

namespace ServerlessMeta.Cli.Serving;

/// <summary>
/// Thin clients of the HTTP routes (docs/api.md): <c>ingest</c>, <c>pretrain</c>, <c>create</c>,
/// <c>feedback</c>, <c>predict</c>, <c>versions</c>, <c>promote</c>. Each sends the key in
/// <c>x-functions-key</c>, prints the answer readably (or the raw JSON with <c>--json</c>), and on an HTTP
/// error prints the problem's title, detail and field to stderr and exits 2 (4xx) or 1.
/// </summary>
internal static class RouteCommands
{
    /// <summary>Largest request body smeta builds when it batches (the service's default limit is 4 MiB).</summary>
    public const int MaxBatchBytes = 3 * 1024 * 1024;

    private static readonly string[] PredictColumns = ["#", "label", "p", "runner-up", "check"];

    private const string ExampleFormat =
        "One JSON object per line: {\"categoryId\": \"jade-bracelets\", \"text\": \"green jade bangle\", \"features\": [0.1, 2.0], \"label\": \"bangle\"}; " +
        "text, features or both; label required. A .json file may hold an array of such objects.";

    public static IEnumerable<Command> Create() => [Ingest(), Pretrain(), CreateCategory(), Feedback(), Predict(), Versions(), Promote()];

    private static Command Ingest()
    {
        var file = new Argument<FileInfo>("file") { Description = "JSON Lines of labelled examples. " + ExampleFormat };
        var category = new Option<string?>("--category") { Description = "Category of the lines without \"categoryId\"." };
        var batch = new Option<int>("--batch-size") { Description = "Examples per request (requests also stay under 3 MiB).", DefaultValueFactory = _ => 1000 };
        batch.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 100_000)
            {
                r.AddError("--batch-size must be between 1 and 100000.");
            }
        });
        var command = new Command("ingest", "Bulk-load historical labelled examples for pretraining (POST /api/categories/{id}/examples), grouped per category and sent in batches. Categories are created as needed; no model is adapted.")
        {
            file, category, batch,
        };
        var (url, key, json) = ClientOptions.AddTo(command);
        command.SetAction((parse, cancellationToken) => ClientOptions.RunAsync(parse, async () =>
        {
            var records = InputFiles.RequireLabels(InputFiles.Read(parse.GetValue(file)!, "examples"));
            var fallback = parse.GetValue(category);
            var groups = new List<(string Id, List<JsonObject> Examples)>();
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var record in records)
            {
                var id = record.GetString("categoryId") ?? fallback ?? throw new InputException($"{record.Source}: \"categoryId\" is missing (or pass --category).");
                if (!index.TryGetValue(id, out var position))
                {
                    position = index[id] = groups.Count;
                    groups.Add((id, []));
                }

                groups[position].Examples.Add(InputFiles.Strip(record, InputFiles.NotInExamples));
            }

            using var client = ClientOptions.CreateClient(parse, url, key);
            var output = parse.Out();
            var clock = Stopwatch.StartNew();
            var (created, appended) = (0, 0L);
            foreach (var (id, examples) in groups)
            {
                IngestResult? last = null;
                var wasCreated = false;
                var sent = 0L;
                foreach (var chunk in Batches(examples, parse.GetValue(batch), MaxBatchBytes))
                {
                    var body = new JsonObject { ["examples"] = new JsonArray([.. chunk]) };
                    var node = await client.PostAsync($"api/categories/{ApiClient.Escape(id)}/examples", body, cancellationToken).ConfigureAwait(false);
                    if (parse.GetValue(json))
                    {
                        output.WriteJson(node);
                    }

                    last = node?.Deserialize<IngestResult>(ApiClient.Json);
                    wasCreated |= last?.Created == true;
                    sent += last?.Appended ?? chunk.Count;
                }

                created += wasCreated ? 1 : 0;
                appended += sent;
                if (!parse.GetValue(json))
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{id}: +{sent} examples{(wasCreated ? " (new category)" : string.Empty)}, {last?.ExampleCount} in total, {last?.LabelCounts?.Count} labels"));
                }
            }

            if (!parse.GetValue(json))
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"ingested {appended} examples into {groups.Count} categories ({created} new) in {TextOutput.Duration(clock.Elapsed)}"));
            }

            return 0;
        }));
        return command;
    }

    private static Command Pretrain()
    {
        var runId = new Option<string?>("--run-id") { Description = "The run's id (default: chosen by the service)." };
        var algorithm = new Option<string?>("--algorithm") { Description = "maml, fomaml, reptile, metasgd, protonet or matchingnet (default: the service's)." };
        var rounds = new Option<int?>("--rounds") { Description = "Outer rounds (meta-steps applied)." };
        var metaBatch = new Option<int?>("--meta-batch") { Description = "Tasks per round (metaBatchSize)." };
        var ways = new Option<int?>("--ways") { Description = "Labels per training episode." };
        var shots = new Option<int?>("--shots") { Description = "Support examples per label in training episodes." };
        var shards = new Option<int?>("--shards") { Description = "Activities per round (the meta-batch is split among them)." };
        var localSteps = new Option<int?>("--local-steps") { Description = "Meta-steps each shard takes per round before averaging (1: exact synchronous)." };
        var seed = new Option<long?>("--seed") { Description = "Random seed of the run." };
        var wait = new Option<bool>("--wait") { Description = "Poll the run and show its progress until it finishes; exit 1 unless it completed." };
        var command = new Command("pretrain", "Start the durable pretraining orchestration (POST /api/pretraining); with --wait, follow it (GET /api/pretraining/{id}) to the end.")
        {
            runId, algorithm, rounds, metaBatch, ways, shots, shards, localSteps, seed, wait,
        };
        var (url, key, json) = ClientOptions.AddTo(command);
        command.SetAction((parse, cancellationToken) => ClientOptions.RunAsync(parse, async () =>
        {
            var body = new JsonObject();
            void Set<T>(string name, Option<T> option)
            {
                if (parse.GetValue(option) is { } value)
                {
                    body[name] = JsonValue.Create(value);
                }
            }

            Set("runId", runId);
            Set("algorithm", algorithm);
            Set("rounds", rounds);
            Set("metaBatchSize", metaBatch);
            Set("ways", ways);
            Set("shots", shots);
            Set("shards", shards);
            Set("localSteps", localSteps);
            Set("seed", seed);
            using var client = ClientOptions.CreateClient(parse, url, key);
            var (output, asJson) = (parse.Out(), parse.GetValue(json));
            var started = await client.PostAsync("api/pretraining", body, cancellationToken).ConfigureAwait(false);
            var instanceId = started?["instanceId"]?.GetValue<string>() ?? throw new InvalidDataException("POST /api/pretraining answered without an instanceId.");
            if (!parse.GetValue(wait))
            {
                if (asJson)
                {
                    output.WriteJson(started);
                }
                else
                {
                    output.WriteLine($"started pretraining run {instanceId}; status: {started?["statusUri"]?.ToString() ?? "/api/pretraining/" + instanceId}");
                }

                return 0;
            }

            // Progress goes to stdout in readable mode and to stderr with --json (stdout then holds only JSON).
            var progressWriter = asJson ? parse.Error() : output;
            var interactive = asJson ? !Console.IsErrorRedirected && parse.Error() == Console.Error : !Console.IsOutputRedirected && output == Console.Out;
            if (!asJson)
            {
                output.WriteLine($"started pretraining run {instanceId}");
            }

            var status = await PretrainingWatcher.WaitAsync(client, instanceId, new ProgressBar(progressWriter, interactive, parse.GetValue(rounds)), TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            if (asJson)
            {
                output.WriteJson(await client.GetAsync("api/pretraining/" + ApiClient.Escape(instanceId), cancellationToken).ConfigureAwait(false));
            }
            else
            {
                output.WriteLine(PretrainingWatcher.Describe(status));
            }

            return status.RuntimeStatus == "Completed" ? 0 : 1;
        }));
        return command;
    }

    private static Command CreateCategory()
    {
        var id = new Argument<string>("id") { Description = "The new category's id (3-63 lowercase letters, digits and single hyphens)." };
        var examples = ExamplesOption();
        var (algorithm, steps, learningRate) = AdaptationOptions();
        var command = new Command("create", "Create a category from a few labelled examples (POST /api/categories): the service adapts the meta-model to them and stores version 1.")
        {
            id, examples, algorithm, steps, learningRate,
        };
        var (url, key, json) = ClientOptions.AddTo(command);
        command.SetAction((parse, cancellationToken) => ClientOptions.RunAsync(parse, async () =>
        {
            var body = new JsonObject
            {
                ["categoryId"] = parse.GetValue(id),
                ["examples"] = ReadExamples(parse.GetValue(examples)!),
            };
            if (parse.GetValue(algorithm) is { } a)
            {
                body["algorithm"] = a;
            }

            if (Adaptation(parse, steps, learningRate) is { } adaptation)
            {
                body["adaptation"] = adaptation;
            }

            using var client = ClientOptions.CreateClient(parse, url, key);
            var node = await client.PostAsync("api/categories", body, cancellationToken).ConfigureAwait(false);
            PrintModel(parse, node, parse.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static Command Feedback()
    {
        var id = new Argument<string>("id") { Description = "The category." };
        var examples = ExamplesOption();
        var (_, steps, learningRate) = AdaptationOptions();
        var command = new Command("feedback", "Add labelled examples to a category (POST /api/categories/{id}/feedback): the service adapts on all its data and serves the new version.")
        {
            id, examples, steps, learningRate,
        };
        var (url, key, json) = ClientOptions.AddTo(command);
        command.SetAction((parse, cancellationToken) => ClientOptions.RunAsync(parse, async () =>
        {
            var body = new JsonObject { ["examples"] = ReadExamples(parse.GetValue(examples)!) };
            if (Adaptation(parse, steps, learningRate) is { } adaptation)
            {
                body["adaptation"] = adaptation;
            }

            using var client = ClientOptions.CreateClient(parse, url, key);
            var node = await client.PostAsync($"api/categories/{ApiClient.Escape(parse.GetValue(id)!)}/feedback", body, cancellationToken).ConfigureAwait(false);
            PrintModel(parse, node, parse.GetValue(json));
            return 0;
        }));
        return command;
    }

    private static Command Predict()
    {
        var id = new Argument<string>("id") { Description = "The category." };
        var items = new Option<FileInfo>("--items")
        {
            Description = "JSON Lines of items, one object per line: {\"text\": \"...\", \"features\": [...]}; an optional \"label\" is not sent but scored (accuracy). A .json file may hold an array.",
            Required = true,
        };
        var version = new Option<int?>("--version") { Description = "The model version (default: the serving one)." };
        var command = new Command("predict", "Classify items with a category's model (POST /api/categories/{id}/predict; 10,000 items per request).")
        {
            id, items, version,
        };
        var (url, key, json) = ClientOptions.AddTo(command);
        command.SetAction((parse, cancellationToken) => ClientOptions.RunAsync(parse, async () =>
        {
            var records = InputFiles.Read(parse.GetValue(items)!, "items");
            if (records.Count == 0)
            {
                throw new InputException($"{parse.GetValue(items)!.Name}: no items.");
            }

            using var client = ClientOptions.CreateClient(parse, url, key);
            var output = parse.Out();
            var asJson = parse.GetValue(json);
            var path = $"api/categories/{ApiClient.Escape(parse.GetValue(id)!)}/predict";
            var (scored, correct, number) = (0, 0, 0);
            var rows = new List<IReadOnlyList<string>>();
            int? answeredVersion = null;
            var warnings = new HashSet<string>(StringComparer.Ordinal);
            foreach (var chunk in records.Chunk(10_000))
            {
                var body = new JsonObject { ["items"] = new JsonArray([.. chunk.Select(r => InputFiles.Strip(r, InputFiles.NotInItems))]) };
                if (parse.GetValue(version) is { } v)
                {
                    body["version"] = v;
                }

                var node = await client.PostAsync(path, body, cancellationToken).ConfigureAwait(false);
                if (asJson)
                {
                    output.WriteJson(node);
                    continue;
                }

                var response = node?.Deserialize<PredictionResult>(ApiClient.Json) ?? throw new InvalidDataException($"{path}: empty response.");
                answeredVersion = response.Version;
                if (response.Warning is { } warning && warnings.Add(warning))
                {
                    await parse.Error().WriteLineAsync($"warning: {warning}").ConfigureAwait(false);
                }

                var predictions = response.Predictions ?? [];
                for (var i = 0; i < chunk.Length && i < predictions.Count; i++)
                {
                    number++;
                    var prediction = predictions[i];
                    var probability = prediction.Label is { } l && prediction.Probabilities?.TryGetValue(l, out var p) == true ? p : (double?)null;
                    var runnerUp = prediction.Probabilities?.Where(kv => kv.Key != prediction.Label).OrderByDescending(kv => kv.Value).FirstOrDefault();
                    var expected = chunk[i].GetString("label");
                    if (expected is not null)
                    {
                        scored++;
                        correct += expected == prediction.Label ? 1 : 0;
                    }

                    rows.Add([
                        number.ToString(CultureInfo.InvariantCulture),
                        prediction.Label ?? "-",
                        TextOutput.Percent(probability),
                        runnerUp is { Key: not null } r ? $"{r.Key} {TextOutput.Percent(r.Value)}" : string.Empty,
                        expected is null ? string.Empty : expected == prediction.Label ? "ok" : $"expected {expected}",
                    ]);
                }
            }

            if (!asJson)
            {
                output.WriteLine($"{parse.GetValue(id)} version {answeredVersion}: {number} predictions");
                var columns = scored > 0 ? PredictColumns.Length : PredictColumns.Length - 1;
                TextOutput.Table(output, PredictColumns[..columns], rows.Select(r => (IReadOnlyList<string>)[.. r.Take(columns)]), new HashSet<int> { 0, 2 });
                if (scored > 0)
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"accuracy {TextOutput.Percent((double)correct / scored)} ({correct}/{scored} labelled items)"));
                }
            }

            return 0;
        }));
        return command;
    }

    private static Command Versions()
    {
        var id = new Argument<string>("id") { Description = "The category." };
        var command = new Command("versions", "List a category's model versions (GET /api/categories/{id}/versions); * marks the serving one.") { id };
        var (url, key, json) = ClientOptions.AddTo(command);
        command.SetAction((parse, cancellationToken) => ClientOptions.RunAsync(parse, async () =>
        {
            using var client = ClientOptions.CreateClient(parse, url, key);
            var node = await client.GetAsync($"api/categories/{ApiClient.Escape(parse.GetValue(id)!)}/versions", cancellationToken).ConfigureAwait(false);
            var output = parse.Out();
            if (parse.GetValue(json))
            {
                output.WriteJson(node);
                return 0;
            }

            var items = node?["items"] as JsonArray ?? [];
            output.WriteLine($"{parse.GetValue(id)}: {items.Count} version{(items.Count == 1 ? string.Empty : "s")}");
            TextOutput.Table(
                output,
                ["version", "serving", "algorithm", "meta-model", "estimated accuracy", "chosen", "examples", "size", "created"],
                items.OfType<JsonObject>().Select(v => (IReadOnlyList<string>)[
                    Scalar(v["version"]),
                    v["serving"]?.GetValue<bool>() == true ? "*" : string.Empty,
                    Scalar(v["algorithm"]),
                    Scalar(v["metaModelVersion"]),
                    TextOutput.Percent(Double(v["metrics"]?["estimatedAccuracy"])),
                    Scalar(v["metrics"]?["chosen"] ?? v["hyperparameters"]?["chosen"]),
                    Scalar(v["metrics"]?["examples"]),
                    Bytes(Double(v["size"])),
                    Scalar(v["createdAt"]),
                ]),
                new HashSet<int> { 0, 4, 6, 7 });
            return 0;
        }));
        return command;
    }

    private static Command Promote()
    {
        var id = new Argument<string>("id") { Description = "The category." };
        var version = new Argument<int>("version") { Description = "The version to serve (rollback or roll forward)." };
        var command = new Command("promote", "Serve a given version of a category's model (POST /api/categories/{id}/versions/{version}/promote).") { id, version };
        var (url, key, json) = ClientOptions.AddTo(command);
        command.SetAction((parse, cancellationToken) => ClientOptions.RunAsync(parse, async () =>
        {
            using var client = ClientOptions.CreateClient(parse, url, key);
            var path = string.Create(CultureInfo.InvariantCulture, $"api/categories/{ApiClient.Escape(parse.GetValue(id)!)}/versions/{parse.GetValue(version)}/promote");
            var node = await client.PostAsync(path, null, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                parse.Out().WriteJson(node);
            }
            else
            {
                parse.Out().WriteLine($"{Scalar(node?["categoryId"], parse.GetValue(id)!)}: serving version {Scalar(node?["servingVersion"], parse.GetValue(version).ToString(CultureInfo.InvariantCulture))} (latest {Scalar(node?["latestVersion"])})");
            }

            return 0;
        }));
        return command;
    }

    /// <summary>Splits examples into requests of at most <paramref name="maxCount"/> examples and about <paramref name="maxBytes"/> bytes.</summary>
    public static IEnumerable<List<JsonObject>> Batches(IEnumerable<JsonObject> examples, int maxCount, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var batch = new List<JsonObject>();
        var bytes = 0;
        foreach (var example in examples)
        {
            var size = Encoding.UTF8.GetByteCount(example.ToJsonString()) + 1;
            if (batch.Count > 0 && (batch.Count >= maxCount || bytes + size > maxBytes))
            {
                yield return batch;
                (batch, bytes) = ([], 0);
            }

            batch.Add(example);
            bytes += size;
        }

        if (batch.Count > 0)
        {
            yield return batch;
        }
    }

    private static Option<FileInfo> ExamplesOption() => new("--examples")
    {
        Description = "Labelled examples: JSON Lines, one {\"text\"?, \"features\"?, \"label\"} object per line, or a .json array of them.",
        Required = true,
    };

    private static (Option<string?> Algorithm, Option<int?> Steps, Option<double?> LearningRate) AdaptationOptions() => (
        new Option<string?>("--algorithm") { Description = "Adapt the newest meta-model of this algorithm (default: the serving meta-model)." },
        new Option<int?>("--steps") { Description = "Inner-loop adaptation steps (0-200; default: the meta-model's)." },
        new Option<double?>("--learning-rate") { Description = "Inner-loop learning rate (1e-6-10; default: the meta-model's)." });

    private static JsonObject? Adaptation(ParseResult parse, Option<int?> steps, Option<double?> learningRate)
    {
        var (s, lr) = (parse.GetValue(steps), parse.GetValue(learningRate));
        if (s is null && lr is null)
        {
            return null;
        }

        var adaptation = new JsonObject();
        if (s is { } stepCount)
        {
            adaptation["steps"] = stepCount;
        }

        if (lr is { } rate)
        {
            adaptation["learningRate"] = rate;
        }

        return adaptation;
    }

    private static JsonArray ReadExamples(FileInfo file)
    {
        var records = InputFiles.RequireLabels(InputFiles.Read(file, "examples"));
        return records.Count == 0 ? throw new InputException($"{file.Name}: no examples.") : new JsonArray([.. records.Select(r => InputFiles.Strip(r, InputFiles.NotInExamples))]);
    }

    /// <summary>Prints a create or feedback answer.</summary>
    private static void PrintModel(ParseResult parse, JsonNode? node, bool asJson)
    {
        var output = parse.Out();
        if (asJson)
        {
            output.WriteJson(node);
            return;
        }

        var model = node?.Deserialize<CategoryModelResult>(ApiClient.Json) ?? throw new InvalidDataException("The service answered with an empty body.");
        foreach (var line in DescribeModel(model))
        {
            output.WriteLine(line);
        }
    }

    public static IEnumerable<string> DescribeModel(CategoryModelResult model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var labels = model.Labels ?? [];
        var source = model.MetaModelVersion is { } m ? $"meta-model {m}" : "no meta-model (adapted from scratch)";
        yield return $"{model.CategoryId} version {model.Version}: {model.Algorithm} from {source}, {labels.Count} labels ({string.Join(", ", labels.Take(8))}{(labels.Count > 8 ? ", ..." : string.Empty)})";
        var metrics = model.Metrics;
        if (metrics is not null)
        {
            var estimate = metrics.Estimate is null
                ? "no held-out estimate (fewer than 2 examples of some label)"
                : $"estimated accuracy {TextOutput.Percent(metrics.EstimatedAccuracy)} ({metrics.Estimate}{(metrics.Estimate.Contains("fold", StringComparison.Ordinal) ? string.Empty : $", {metrics.Folds} folds")}): adapted {TextOutput.Percent(metrics.MetaModelAccuracy)}, nearest centroid {TextOutput.Percent(metrics.BaselineAccuracy)}";
            yield return $"  {estimate}; stored: {metrics.Chosen}";
            yield return $"  {metrics.Examples} examples, support accuracy {TextOutput.Percent(metrics.SupportAccuracy)}, {metrics.AdaptationSteps} adaptation steps";
        }

        if (model.Timings is { } t)
        {
            yield return $"  time {TextOutput.Ms(t.TotalMs)} (load {TextOutput.Number(t.LoadMs)}, adapt {TextOutput.Number(t.AdaptMs)}, estimate {TextOutput.Number(t.EstimateMs)}, store {TextOutput.Number(t.StoreMs)} ms)";
        }

        if (!string.IsNullOrEmpty(model.Note))
        {
            yield return $"  note: {model.Note}";
        }
    }

    private static string Scalar(JsonNode? node, string fallback = "-") => node switch
    {
        null => fallback,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => node.ToJsonString(),
    };

    private static double? Double(JsonNode? node) => node is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    private static string Bytes(double? size) => size switch
    {
        null => "-",
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{size:F0} B"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{size / 1024:F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{size / (1024 * 1024):F1} MiB"),
    };
}
