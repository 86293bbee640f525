using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Featurization.Text;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.LocalHost;
using ServerlessMeta.Api.Contracts;
using ServerlessMeta.Application.Categories;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Cli.Serving;

/// <summary>
/// <c>smeta demo</c>: the whole story through HTTP against an in-process <see cref="LocalServer"/>
/// (private Azurite unless SMETA_STORAGE is set; a generated key): ingest a synthetic catalogue,
/// create the new categories without a meta-model ("-scratch"), pretrain through the durable
/// orchestration with a progress bar, create them again from the meta-model with the same 5-shot
/// examples, score both on held-out items, send feedback (version 2), and print a results table.
/// </summary>
internal static class DemoCommand
{
    public const int Shots = 5;
    public const int FeedbackShots = 5;
    public const int DefaultCategories = 4;
    public const int DefaultRounds = 120;
    public const int MetaBatchSize = 16;
    public const int LocalSteps = 5;
    public const int Shards = 2;

    private static readonly string[] Names =
    [
        "jade-bracelets", "linen-shirts", "ceramic-vases", "trail-shoes", "desk-lamps", "tea-sets", "yoga-mats", "board-games",
        "leather-wallets", "garden-tools", "wool-scarves", "phone-cases", "wall-clocks", "silk-ties", "camping-stoves", "bike-lights",
        "kitchen-knives", "sun-hats", "cotton-towels", "glass-jars",
    ];

    public static Command Create()
    {
        var categories = new Option<int>("--categories") { Description = $"New categories to create after pretraining (1-{Names.Length}).", DefaultValueFactory = _ => DefaultCategories };
        categories.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 || r.GetValueOrDefault<int>() > Names.Length)
            {
                r.AddError($"--categories must be between 1 and {Names.Length}.");
            }
        });
        var rounds = new Option<int>("--rounds") { Description = $"Pretraining rounds (each: {LocalSteps} meta-steps of {MetaBatchSize} tasks on {Shards} shards).", DefaultValueFactory = _ => DefaultRounds };
        rounds.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 10_000)
            {
                r.AddError("--rounds must be between 1 and 10000.");
            }
        });
        var seed = new Option<long>("--seed") { Description = "Seed of the synthetic catalogue and of pretraining.", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "Print the results as one JSON object (progress goes to stderr)." };
        var textEncoder = ServeCommand.TextEncoderOption();
        var command = new Command(
            "demo",
            "Start everything in this process (HTTP API, durable pretraining, a private Azurite unless $SMETA_STORAGE is set), ingest a synthetic catalogue, " +
            "pretrain through the durable orchestration, create new categories from 5 examples per label with and without the meta-model, predict, " +
            "send feedback, and print accuracy, versions and timings, and what the sentence encoder adds on real public text. About 5 minutes on 2 cores.")
        {
            categories, rounds, seed, json, textEncoder,
        };
        command.SetAction((parse, cancellationToken) => ClientOptions.RunAsync(parse, () => RunAsync(
            parse, parse.GetValue(categories), parse.GetValue(rounds), parse.GetValue(seed), parse.GetValue(json), parse.GetValue(textEncoder), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, int newCount, int rounds, long seed, bool json, string? textEncoderName, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        var output = parse.Out();
        var log = json ? parse.Error() : output;
        void Say(string line)
        {
            log.WriteLine(line);
            log.Flush();
        }

        // 1. The service, in process.
        var storage = ServeCommand.Variable(ServeCommand.StorageVariable);
        var prefix = storage is null ? string.Empty : "d" + Guid.NewGuid().ToString("N")[..6] + "-";
        Say(storage is null ? "starting the service with a private Azurite..." : $"starting the service on ${ServeCommand.StorageVariable} (ids prefixed {prefix})...");
        var phase = Stopwatch.StartNew();
        var server = await LocalServer.StartAsync(
            new LocalServerOptions { Port = 0, StorageConnectionString = storage, ApiKey = null, RetrainSchedule = null, TaskHubName = "smetademo", Logging = ServerLogging.Quiet, TextEncoder = textEncoderName },
            cancellationToken).ConfigureAwait(false);
        await using var serverScope = server.ConfigureAwait(false);
        var startSeconds = phase.Elapsed.TotalSeconds;
        Say($"service at {ServeCommand.ListeningAddress(server.BaseAddress)} ready in {startSeconds:F1} s (generated key; storage: {ServeCommand.DescribeStorage(server.StorageConnectionString, server.StartedAzurite)}; text features: {ServeCommand.DescribeTextFeatures(server)})");
        using var client = new ApiClient(server.BaseAddress, server.ApiKey);

        // 2. History: the synthetic catalogue's categories with all their labelled items.
        var catalog = new SyntheticCatalog(SyntheticCatalogOptions.Standard, seed);
        var o = catalog.Options;
        var history = catalog.Generate("history", o.TrainCategories + o.ValidationCategories + o.TestCategories);
        var fresh = catalog.Generate("new", newCount);
        phase.Restart();
        var stored = await SyntheticUpload.IngestAsync(client, history, prefix, 2, cancellationToken).ConfigureAwait(false);
        var ingestSeconds = phase.Elapsed.TotalSeconds;
        Say($"ingested {history.Count} categories, {stored:N0} labelled examples (POST /api/categories/{{id}}/examples) in {ingestSeconds:F1} s");

        // 3. The new categories without meta-learning: created before any meta-model exists.
        var rows = fresh.Select((category, i) =>
        {
            var (support, feedback, heldOut) = SyntheticUpload.Split(category, Shots, FeedbackShots);
            return new Row(prefix + Names[i], category.Labels.Count, support, feedback, heldOut);
        }).ToList();
        foreach (var row in rows)
        {
            (row.Scratch, row.ScratchMs) = await TimedAsync(() => client.PostAsync<CategoryModelResult>(
                "api/categories", new CreateCategoryRequest(row.Id + "-scratch", [.. row.Support.Select(SyntheticUpload.Example)]), cancellationToken)).ConfigureAwait(false);
            if (row.Scratch.MetaModelVersion is not null)
            {
                Say($"  note: {row.Id}-scratch was adapted from meta-model {row.Scratch.MetaModelVersion} (the storage already had one)");
            }
        }

        Say($"created {rows.Count} categories without a meta-model ({Shots} examples per label): {string.Join(", ", rows.Select(r => r.Id + "-scratch"))}");

        // 4. Pretraining through the durable orchestration.
        var plan = new JsonObject
        {
            ["runId"] = $"{prefix}demo-{seed}",
            ["algorithm"] = "protonet",
            ["rounds"] = rounds,
            ["metaBatchSize"] = MetaBatchSize,
            ["ways"] = 5,
            ["shots"] = Shots,
            ["shards"] = Shards,
            ["localSteps"] = LocalSteps,
            ["seed"] = seed,
            ["validationInterval"] = Math.Max(1, rounds / 6),
        };
        phase.Restart();
        var started = await client.PostAsync<PretrainingAccepted>("api/pretraining", plan, cancellationToken).ConfigureAwait(false);
        var instanceId = started.InstanceId ?? throw new InvalidDataException("POST /api/pretraining answered without an instanceId.");
        Say($"pretraining {instanceId}: protonet, {rounds} rounds x {LocalSteps} local steps, {MetaBatchSize} tasks per round on {Shards} shards (POST /api/pretraining)");
        var interactive = json ? !Console.IsErrorRedirected && log == Console.Error : !Console.IsOutputRedirected && log == Console.Out;
        var run = await PretrainingWatcher.WaitAsync(client, instanceId, new ProgressBar(log, interactive, rounds), TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
        var pretrainSeconds = phase.Elapsed.TotalSeconds;
        Say(PretrainingWatcher.Describe(run) + $" ({pretrainSeconds:F1} s)");
        if (run.RuntimeStatus != "Completed")
        {
            await parse.Error().WriteLineAsync($"smeta demo: pretraining ended {run.RuntimeStatus}; {run.Failure}").ConfigureAwait(false);
            return 1;
        }

        var served = run.Output?.Served == true;

        // 5. The same categories with meta-learning, their held-out accuracy, and feedback.
        phase.Restart();
        foreach (var row in rows)
        {
            (row.Meta, row.MetaMs) = await TimedAsync(() => client.PostAsync<CategoryModelResult>(
                "api/categories", new CreateCategoryRequest(row.Id, [.. row.Support.Select(SyntheticUpload.Example)]), cancellationToken)).ConfigureAwait(false);
            row.ScratchAccuracy = await SyntheticUpload.AccuracyAsync(client, row.Id + "-scratch", 1, row.HeldOut, cancellationToken).ConfigureAwait(false);
            row.MetaAccuracy = await SyntheticUpload.AccuracyAsync(client, row.Id, 1, row.HeldOut, cancellationToken).ConfigureAwait(false);
            (row.Feedback, row.FeedbackMs) = await TimedAsync(() => client.PostAsync<CategoryModelResult>(
                $"api/categories/{ApiClient.Escape(row.Id)}/feedback", new ExamplesRequest([.. row.FeedbackExamples.Select(SyntheticUpload.Example)]), cancellationToken)).ConfigureAwait(false);
            row.FeedbackAccuracy = await SyntheticUpload.AccuracyAsync(client, row.Id, null, row.HeldOut, cancellationToken).ConfigureAwait(false);
            var versions = await client.GetAsync($"api/categories/{ApiClient.Escape(row.Id)}/versions", cancellationToken).ConfigureAwait(false);
            var items = versions?["items"] as JsonArray ?? [];
            row.Versions = items.Count;
            row.ServingVersion = items.OfType<JsonObject>().Where(v => v["serving"]?.GetValue<bool>() == true).Select(v => v["version"]?.GetValue<int>()).FirstOrDefault();
        }

        var categorySeconds = phase.Elapsed.TotalSeconds;

        // 6. What the sentence encoder adds, on the new categories and on real public text: nearest centroid on the same examples.
        var encoders = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Application.TextEncoders>(server.Services);
        var textEncoder = encoders.Get(MiniLmTextEncoder.Descriptor);
        var numeric = rows[0].Support.First().Features?.Count ?? 0;
        foreach (var row in rows)
        {
            row.CentroidHashed = TextFeatureComparison.CentroidAccuracy(FeaturizerOptions.ForText(null, numeric), null, row.Support, row.HeldOut);
            row.CentroidEncoder = TextFeatureComparison.CentroidAccuracy(FeaturizerOptions.ForText(textEncoder.Info, numeric), textEncoder, row.Support, row.HeldOut);
        }

        var realText = TextFeatureComparison.RealText(textEncoder, seed: seed);
        total.Stop();
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(Report(rows, run, startSeconds, ingestSeconds, pretrainSeconds, categorySeconds, total.Elapsed.TotalSeconds, history.Count, stored, seed, rounds, encoders.DefaultName, realText)));
        }
        else
        {
            PrintTable(output, rows, run, startSeconds, ingestSeconds, pretrainSeconds, categorySeconds, total.Elapsed);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"text features (new models: {encoders.DefaultName}): nearest centroid on the new categories' held-out items {TextFeatureComparison.Percent(rows.Average(r => r.CentroidHashed))} with hashed n-grams, {TextFeatureComparison.Percent(rows.Average(r => r.CentroidEncoder))} with the all-MiniLM-L6-v2 encoder (the catalogue's words are synthetic)"));
            output.WriteLine(realText is { } real
                ? string.Create(CultureInfo.InvariantCulture, $"real public text (emojibase-data, {real.Categories} categories, 5-way 5-shot, {real.Episodes} episodes): nearest centroid {TextFeatureComparison.Percent(real.Hashed)} with hashed n-grams, {TextFeatureComparison.Percent(real.Encoder)} with the encoder (smeta bench real for the meta-models)")
                : "real public text: emojibase-data is not installed (npm ci), so the real-text comparison is skipped");
        }

        if (!served)
        {
            await parse.Error().WriteLineAsync("smeta demo: the pretrained meta-model was not served (it did not beat nearest centroid on held-out categories); try more --rounds.").ConfigureAwait(false);
            return 1;
        }

        return 0;
    }

    private static void PrintTable(TextWriter output, List<Row> rows, PretrainingRunStatus run, double start, double ingest, double pretrain, double categories, TimeSpan total)
    {
        output.WriteLine();
        output.WriteLine($"New categories, {Shots} examples per label; accuracy on held-out items (POST /predict):");
        TextOutput.Table(
            output,
            ["category", "labels", "held-out", "without meta-learning", "with meta-learning", "after feedback", "nearest centroid (est.)", "stored", "versions", "create ms"],
            rows.Select(r => (IReadOnlyList<string>)[
                r.Id,
                r.Labels.ToString(CultureInfo.InvariantCulture),
                r.HeldOut.Count.ToString(CultureInfo.InvariantCulture),
                $"{TextOutput.Percent(r.ScratchAccuracy)} ({r.Scratch?.Metrics?.Chosen})",
                TextOutput.Percent(r.MetaAccuracy),
                TextOutput.Percent(r.FeedbackAccuracy),
                TextOutput.Percent(r.Meta?.Metrics?.BaselineAccuracy),
                r.Meta?.Metrics?.Chosen ?? "-",
                $"{r.Versions} (serving {r.ServingVersion})",
                TextOutput.Number(r.MetaMs, "F0"),
            ]).Append([
                "mean", string.Empty, string.Empty,
                TextOutput.Percent(rows.Average(r => r.ScratchAccuracy)),
                TextOutput.Percent(rows.Average(r => r.MetaAccuracy)),
                TextOutput.Percent(rows.Average(r => r.FeedbackAccuracy)),
                TextOutput.Percent(rows.Average(r => r.Meta?.Metrics?.BaselineAccuracy ?? double.NaN)),
                string.Empty, string.Empty,
                TextOutput.Number(rows.Average(r => r.MetaMs), "F0"),
            ]),
            new HashSet<int> { 1, 2, 4, 5, 6, 9 });
        output.WriteLine();
        output.WriteLine("  without meta-learning: created before pretraining (no meta-model: a network from scratch or nearest centroid, whichever its");
        output.WriteLine("  cross-validation preferred, in brackets); with: the same examples adapted from the pretrained meta-model; after feedback:");
        output.WriteLine($"  version 2, with {FeedbackShots} more examples per label; nearest centroid (est.): the create's cross-validated estimate of the baseline.");
        output.WriteLine();
        output.WriteLine(PretrainingWatcher.Describe(run));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"timings: service start {start:F1} s, ingest {ingest:F1} s, pretraining {pretrain:F1} s, create/predict/feedback {categories:F1} s, total {TextOutput.Duration(total)}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"create latency (client side): without meta-model {rows.Average(r => r.ScratchMs):F0} ms, with {rows.Average(r => r.MetaMs):F0} ms; feedback {rows.Average(r => r.FeedbackMs):F0} ms"));
    }

    private static object Report(List<Row> rows, PretrainingRunStatus run, double start, double ingest, double pretrain, double categories, double total, int historyCount, long examples, long seed, int rounds,
        string textEncoder, (double Hashed, double Encoder, int Episodes, int Categories)? realText) => new
    {
        demo = "smeta",
        seed,
        text_encoder = textEncoder,
        centroid_accuracy_hashed = Round(rows.Average(r => r.CentroidHashed)),
        centroid_accuracy_encoder = Round(rows.Average(r => r.CentroidEncoder)),
        real_text = realText is { } real ? new { dataset = "emojibase", ways = 5, shots = 5, episodes = real.Episodes, categories = real.Categories, centroid_hashed = Round(real.Hashed), centroid_encoder = Round(real.Encoder) } : null,
        history_categories = historyCount,
        history_examples = examples,
        pretraining = new
        {
            instance_id = run.InstanceId,
            runtime_status = run.RuntimeStatus,
            rounds,
            served = run.Output?.Served,
            meta_model_version = run.Output?.Version,
            test_accuracy = Round(run.Output?.TestAccuracy),
            baseline_accuracy = Round(run.Output?.BaselineAccuracy),
            reason = run.Output?.Reason,
        },
        categories = rows.Select(r => new
        {
            category = r.Id,
            labels = r.Labels,
            shots = Shots,
            held_out = r.HeldOut.Count,
            accuracy_without_meta_learning = Round(r.ScratchAccuracy),
            without_meta_learning_stored = r.Scratch?.Metrics?.Chosen,
            accuracy_with_meta_learning = Round(r.MetaAccuracy),
            accuracy_after_feedback = Round(r.FeedbackAccuracy),
            estimated_accuracy = Round(r.Meta?.Metrics?.EstimatedAccuracy),
            nearest_centroid_estimate = Round(r.Meta?.Metrics?.BaselineAccuracy),
            stored = r.Meta?.Metrics?.Chosen,
            meta_model_version = r.Meta?.MetaModelVersion,
            versions = r.Versions,
            serving_version = r.ServingVersion,
            create_ms_without_meta_model = Math.Round(r.ScratchMs, 1),
            create_ms = Math.Round(r.MetaMs, 1),
            create_server_ms = Round(r.Meta?.Timings?.TotalMs, 1),
            feedback_ms = Math.Round(r.FeedbackMs, 1),
        }),
        mean_accuracy_without_meta_learning = Round(rows.Average(r => r.ScratchAccuracy)),
        mean_accuracy_with_meta_learning = Round(rows.Average(r => r.MetaAccuracy)),
        mean_accuracy_after_feedback = Round(rows.Average(r => r.FeedbackAccuracy)),
        seconds = new
        {
            service_start = Math.Round(start, 1),
            ingest = Math.Round(ingest, 1),
            pretraining = Math.Round(pretrain, 1),
            categories = Math.Round(categories, 1),
            total = Math.Round(total, 1),
        },
    };

    private static double? Round(double? value, int digits = 4) => value is { } v && double.IsFinite(v) ? Math.Round(v, digits) : null;

    private static async Task<(T Result, double Milliseconds)> TimedAsync<T>(Func<Task<T>> call)
    {
        var clock = Stopwatch.StartNew();
        var result = await call().ConfigureAwait(false);
        return (result, clock.Elapsed.TotalMilliseconds);
    }

    private sealed class Row(string id, int labels, List<LabelledItem> support, List<LabelledItem> feedback, List<LabelledItem> heldOut)
    {
        public string Id { get; } = id;

        public int Labels { get; } = labels;

        public List<LabelledItem> Support { get; } = support;

        public List<LabelledItem> FeedbackExamples { get; } = feedback;

        public List<LabelledItem> HeldOut { get; } = heldOut;

        public CategoryModelResult? Scratch { get; set; }

        public double ScratchMs { get; set; }

        public CategoryModelResult? Meta { get; set; }

        public double MetaMs { get; set; }

        public CategoryModelResult? Feedback { get; set; }

        public double FeedbackMs { get; set; }

        public double ScratchAccuracy { get; set; } = double.NaN;

        public double MetaAccuracy { get; set; } = double.NaN;

        public double FeedbackAccuracy { get; set; } = double.NaN;

        public int Versions { get; set; }

        public int? ServingVersion { get; set; }

        public double CentroidHashed { get; set; } = double.NaN;

        public double CentroidEncoder { get; set; } = double.NaN;
    }
}
