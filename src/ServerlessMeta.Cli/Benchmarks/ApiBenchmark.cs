using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using ServerlessMeta.Cli.Serving;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.LocalHost;
using ServerlessMeta.Orchestration.Local;
using ServerlessMeta.Api.Contracts;
using ServerlessMeta.Application.Categories;

namespace ServerlessMeta.Cli.Benchmarks;

/// <summary>
/// <c>smeta bench api</c>: latency of the HTTP API on the local host, measured by a client in the same
/// process over loopback HTTP. A first server ingests the synthetic catalogue and pretrains a short
/// protonet run so a meta-model is serving; a second server on the same storage is then started cold
/// and timed to ready, to its first create and to its first predict; after a warm-up, N creates
/// (distinct ids, 5-way 5-shot) and N predicts of 1 and of 256 items, C at a time.
/// </summary>
internal static class ApiBenchmark
{
    public const double CreateP50TargetMs = 30;
    public const double CreateP99TargetMs = 150;
    public const double PredictItemsPerSecondTarget = 20_000;

    /// <summary>The targets with the sentence encoder (every text new to the server, so each one is embedded).</summary>
    public const double EncoderCreateP50TargetMs = 120;
    public const double EncoderCreateP99TargetMs = 400;
    public const double EncoderPredictItemsPerSecondTarget = 350;
    public const double RssGrowthTarget = 0.05;
    public const int Ways = 5;
    public const int Shots = 5;

    private static readonly JsonSerializerOptions JsonLines = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command CreateCommand()
    {
        var requests = new Option<int>("--requests") { Description = "Measured requests per operation.", DefaultValueFactory = _ => 200 };
        requests.Positive();
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight at once.", DefaultValueFactory = _ => 1 };
        concurrency.Positive();
        var warmup = new Option<int>("--warmup") { Description = "Unmeasured requests per operation first.", DefaultValueFactory = _ => 20 };
        var rounds = new Option<int>("--rounds") { Description = "Rounds of the protonet pretraining that provides the serving meta-model.", DefaultValueFactory = _ => 12 };
        rounds.Positive();
        var seed = BenchmarkOptions.Seed();
        var json = BenchmarkOptions.Json();
        var textEncoder = ServeCommand.TextEncoderOption();
        var rssPredicts = new Option<int>("--rss-predicts") { Description = "Predicts of one new item after which the process's resident memory is compared with before them (0 skips).", DefaultValueFactory = _ => 5_000 };
        var command = new Command("api", "HTTP API latency on the local host: p50/p95/p99 of create-category (5-way 5-shot) and predict (batches of 1 and 256), predict items per second, the first requests after a cold start, and resident memory over many predicts.")
        {
            requests, concurrency, warmup, rounds, seed, json, textEncoder, rssPredicts,
        };
        command.SetAction((parse, cancellationToken) => ClientOptions.RunAsync(parse, () => RunAsync(
            parse, parse.GetValue(requests), parse.GetValue(concurrency), Math.Max(0, parse.GetValue(warmup)), parse.GetValue(rounds), parse.GetValue(seed), parse.GetValue(json),
            parse.GetValue(textEncoder) ?? ServeCommand.Variable(Application.TextFeaturesOptions.SettingName) ?? Application.TextFeaturesOptions.MiniLm, Math.Max(0, parse.GetValue(rssPredicts)), cancellationToken)));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, int requests, int concurrency, int warmup, int rounds, long seed, bool json, string textEncoder, int rssPredicts, CancellationToken cancellationToken)
    {
        var encoder = textEncoder == Application.TextFeaturesOptions.MiniLm;
        var output = parse.Out();
        void Say(string line)
        {
            if (!json)
            {
                parse.Error().WriteLine(line);
            }
        }

        var total = Stopwatch.StartNew();

        // Storage that outlives the first server: $SMETA_STORAGE or an Azurite of our own.
        var configured = ServeCommand.Variable(ServeCommand.StorageVariable);
        using var azurite = configured is null ? await LocalAzurite.StartAsync().ConfigureAwait(false) : null;
        var storage = configured ?? azurite!.ConnectionString;
        var tag = "b" + Guid.NewGuid().ToString("N")[..6];
        const string hub = "smetabench";
        var catalog = new SyntheticCatalog(SyntheticCatalogOptions.Standard, seed);
        var o = catalog.Options;

        // 1. A serving meta-model: ingest the catalogue and pretrain (first server).
        await using (var server = await LocalServer.StartAsync(Options(storage, hub, textEncoder), cancellationToken).ConfigureAwait(false))
        {
            using var client = new ApiClient(server.BaseAddress, server.ApiKey);
            var clock = Stopwatch.StartNew();
            var history = catalog.Generate(tag + "-history", o.TrainCategories + o.ValidationCategories + o.TestCategories);
            var stored = await SyntheticUpload.IngestAsync(client, history, string.Empty, 2, cancellationToken).ConfigureAwait(false);
            Say($"ingested {history.Count} categories ({stored:N0} examples) in {clock.Elapsed.TotalSeconds:F1} s; pretraining protonet, {rounds} rounds...");
            clock.Restart();
            var started = await client.PostAsync<PretrainingAccepted>("api/pretraining", new JsonObject
            {
                ["runId"] = tag + "-pretraining",
                ["algorithm"] = "protonet",
                ["rounds"] = rounds,
                ["metaBatchSize"] = 16,
                ["shards"] = 2,
                ["localSteps"] = 5,
                ["seed"] = seed,
                ["validationInterval"] = Math.Max(1, rounds / 4),
            }, cancellationToken).ConfigureAwait(false);
            var run = await PretrainingWatcher.WaitAsync(client, started.InstanceId!, json ? null : new ProgressBar(parse.Error(), interactive: false, rounds), TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            Say($"{PretrainingWatcher.Describe(run)} ({clock.Elapsed.TotalSeconds:F1} s)");
        }

        // 2. A cold second server on the same storage: time to ready, first create, first predict.
        var bench = catalog.Generate(tag + "-new", 20);
        var cold = Stopwatch.StartNew();
        await using var coldServer = await LocalServer.StartAsync(Options(storage, hub, textEncoder), cancellationToken).ConfigureAwait(false);
        var readyMs = cold.Elapsed.TotalMilliseconds;
        using var api = new ApiClient(coldServer.BaseAddress, coldServer.ApiKey);
        var sequence = 0;
        string NextId() => string.Create(CultureInfo.InvariantCulture, $"{tag}-c{Interlocked.Increment(ref sequence):D6}");
        // Every request's texts are new to the server (a suffix per request), so the encoder's per-process
        // cache never answers for it: each create and predict embeds all of its texts. With the encoder the
        // texts are short real ones (emojibase-data annotations of about 15 tokens, like product titles);
        // the hashed path keeps the synthetic catalogue's items.
        var shortTexts = encoder ? ShortRealTexts() : null;
        CreateCategoryRequest CreateBody(int i)
        {
            if (shortTexts is not null)
            {
                var category = shortTexts[i % shortTexts.Count];
                var examples = category.Take(Ways).SelectMany(label => label.Take(Shots).Select(item => new WireExample(Unique(item.Text, "c", i), null, item.Label))).ToList();
                return new CreateCategoryRequest(NextId(), examples);
            }

            var synthetic = bench[i % bench.Count];
            var labels = synthetic.Labels.Take(Ways).ToHashSet(StringComparer.Ordinal);
            var syntheticExamples = synthetic.Items.Where(item => labels.Contains(item.Label)).GroupBy(item => item.Label).SelectMany(g => g.Take(Shots))
                .Select(SyntheticUpload.Example).Select(e => e with { Text = Unique(e.Text, "c", i) }).ToList();
            return new CreateCategoryRequest(NextId(), syntheticExamples);
        }

        var firstCreateClock = Stopwatch.StartNew();
        var target = await api.PostAsync<CategoryModelResult>("api/categories", CreateBody(0), cancellationToken).ConfigureAwait(false);
        var firstCreateMs = firstCreateClock.Elapsed.TotalMilliseconds;
        var targetLabels = bench[0].Labels.Take(Ways).ToHashSet(StringComparer.Ordinal);
        var pool = shortTexts is not null
            ? shortTexts.SelectMany(c => c.SelectMany(l => l)).Select(item => new WireItem(item.Text, null)).ToList()
            : bench[0].Items.Where(item => targetLabels.Contains(item.Label)).GroupBy(item => item.Label).SelectMany(g => g.Skip(Shots)).Select(SyntheticUpload.Item).ToList();
        var batchSequence = 0;
        WireItem[] Batch(int size, int offset)
        {
            var request = Interlocked.Increment(ref batchSequence);
            return [.. Enumerable.Range(offset, size).Select(k => pool[k % pool.Count] with { Text = Unique(pool[k % pool.Count].Text, "p" + request.ToString(CultureInfo.InvariantCulture), k) })];
        }
        var predictPath = $"api/categories/{ApiClient.Escape(target.CategoryId ?? string.Empty)}/predict";
        var firstPredictClock = Stopwatch.StartNew();
        await api.PostAsync<PredictionResult>(predictPath, new PredictRequest(Batch(1, 0)), cancellationToken).ConfigureAwait(false);
        var firstPredictMs = firstPredictClock.Elapsed.TotalMilliseconds;
        Say($"cold start: ready in {readyMs:F0} ms; first create {firstCreateMs:F1} ms, first predict {firstPredictMs:F1} ms (meta-model {(target.MetaModelVersion?.ToString(CultureInfo.InvariantCulture) ?? "none")})");

        // 3. Warm-up, then the measured phases.
        if (warmup > 0)
        {
            await MeasureAsync(warmup, concurrency, i => api.PostAsync<CategoryModelResult>("api/categories", CreateBody(requests + i + 1), cancellationToken)).ConfigureAwait(false);
            await MeasureAsync(warmup, concurrency, _ => api.PostAsync<PredictionResult>(predictPath, new PredictRequest(Batch(1, 3)), cancellationToken)).ConfigureAwait(false);
            await MeasureAsync(warmup, concurrency, _ => api.PostAsync<PredictionResult>(predictPath, new PredictRequest(Batch(256, 7)), cancellationToken)).ConfigureAwait(false);
        }

        var serverTimings = new List<AdaptationTimings>();
        var creates = await MeasureAsync(requests, concurrency, async i =>
        {
            var result = await api.PostAsync<CategoryModelResult>("api/categories", CreateBody(i + 1), cancellationToken).ConfigureAwait(false);
            if (result.Timings is { } timings)
            {
                lock (serverTimings)
                {
                    serverTimings.Add(timings);
                }
            }

            return result;
        }).ConfigureAwait(false);
        double ServerP50(Func<AdaptationTimings, double?> phase) => Math.Round(Percentile([.. serverTimings.Select(phase).OfType<double>()], 50), 2);
        Say($"create: {requests} requests in {creates.Seconds:F1} s");
        var singles = Enumerable.Range(0, requests).Select(_ => new PredictRequest(Batch(1, 3))).ToArray();
        var fulls = Enumerable.Range(0, requests).Select(_ => new PredictRequest(Batch(256, 7))).ToArray();
        var predictOne = await MeasureAsync(requests, concurrency, i => api.PostAsync<PredictionResult>(predictPath, singles[i], cancellationToken)).ConfigureAwait(false);
        var predictFull = await MeasureAsync(requests, concurrency, i => api.PostAsync<PredictionResult>(predictPath, fulls[i], cancellationToken)).ConfigureAwait(false);

        // Resident memory over many predicts of new items (the first tenth warms up; the rest must not grow it).
        Dictionary<string, object?>? rss = null;
        if (rssPredicts > 0)
        {
            var warm = Math.Max(1, rssPredicts / 10);
            var requestsForRss = Enumerable.Range(0, rssPredicts).Select(_ => new PredictRequest(Batch(1, 11))).ToArray();
            await MeasureAsync(warm, concurrency, i => api.PostAsync<PredictionResult>(predictPath, requestsForRss[i], cancellationToken)).ConfigureAwait(false);
            var before = SettledRss();
            await MeasureAsync(rssPredicts - warm, concurrency, i => api.PostAsync<PredictionResult>(predictPath, requestsForRss[warm + i], cancellationToken)).ConfigureAwait(false);
            var after = SettledRss();
            var growth = (after - before) / before;
            rss = new Dictionary<string, object?>
            {
                ["benchmark"] = "api",
                ["operation"] = "rss",
                ["predicts"] = rssPredicts,
                ["rss_before_mb"] = Math.Round(before / 1048576, 1),
                ["rss_after_mb"] = Math.Round(after / 1048576, 1),
                ["growth"] = Math.Round(growth, 4),
                ["target"] = $"< {RssGrowthTarget:P0} growth",
                ["target_met"] = growth < RssGrowthTarget,
            };
            Say(string.Create(CultureInfo.InvariantCulture, $"resident memory over {rssPredicts - warm} predicts after {warm} warm-up ones: {before / 1048576:F0} -> {after / 1048576:F0} MB ({growth:P1})"));
        }

        var results = new List<Dictionary<string, object?>>
        {
            Line("startup", 1, 1, [readyMs], null, null, null),
            Line("first_create", 1, 1, [firstCreateMs], null, null, null),
            Line("first_predict", 1, 1, [firstPredictMs], null, 1, null),
            Line("create", requests, concurrency, creates.Milliseconds, null, null, creates.Seconds),
            Line("predict", requests, concurrency, predictOne.Milliseconds, requests / predictOne.Seconds, 1, predictOne.Seconds),
            Line("predict", requests, concurrency, predictFull.Milliseconds, requests * 256 / predictFull.Seconds, 256, predictFull.Seconds),
        };
        var create = results[3];
        create["server_p50_ms"] = ServerP50(t => t.TotalMs);
        create["server_load_p50_ms"] = ServerP50(t => t.LoadMs);
        create["server_adapt_p50_ms"] = ServerP50(t => t.AdaptMs);
        create["server_estimate_p50_ms"] = ServerP50(t => t.EstimateMs);
        create["server_store_p50_ms"] = ServerP50(t => t.StoreMs);
        var (p50Target, p99Target, itemsTarget) = encoder
            ? (EncoderCreateP50TargetMs, EncoderCreateP99TargetMs, EncoderPredictItemsPerSecondTarget)
            : (CreateP50TargetMs, CreateP99TargetMs, PredictItemsPerSecondTarget);
        create["target"] = $"p50 <= {p50Target} ms and p99 <= {p99Target} ms";
        create["target_met"] = (double)create["p50_ms"]! <= p50Target && (double)create["p99_ms"]! <= p99Target;
        var throughput = results[5];
        throughput["target"] = $">= {itemsTarget} items/s";
        throughput["target_met"] = (double)throughput["items_per_second"]! >= itemsTarget;
        if (rss is not null)
        {
            results.Add(rss);
        }

        foreach (var line in results)
        {
            line["text_encoder"] = textEncoder;
            line["meta_model_version"] = target.MetaModelVersion;
            line["cores"] = Environment.ProcessorCount;
            line["seed"] = seed;
        }

        if (json)
        {
            foreach (var line in results)
            {
                output.WriteLine(JsonSerializer.Serialize(line, JsonLines));
            }
        }
        else
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"api  text-encoder={textEncoder}  requests={requests}  concurrency={concurrency}  warm-up={warmup}  cores={Environment.ProcessorCount}  meta-model={(target.MetaModelVersion?.ToString(CultureInfo.InvariantCulture) ?? "none (adapted from scratch)")}  total {total.Elapsed.TotalSeconds:F0} s"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  cold start: server ready in {readyMs:F0} ms, then first create {firstCreateMs:F1} ms, first predict {firstPredictMs:F1} ms"));
            TextOutput.Table(
                output,
                ["operation", "p50 ms", "p95 ms", "p99 ms", "items/s", "target", "met"],
                results.Skip(3).Take(3).Select(r => (IReadOnlyList<string>)[
                    r["operation"] is "create" ? $"create {Ways}-way {Shots}-shot" : $"predict batch {r["batch"]}",
                    Fmt(r["p50_ms"]), Fmt(r["p95_ms"]), Fmt(r["p99_ms"]),
                    r["items_per_second"] is double ips ? ips.ToString("N0", CultureInfo.InvariantCulture) : "-",
                    r.TryGetValue("target", out var t) ? t?.ToString() ?? string.Empty : string.Empty,
                    r.TryGetValue("target_met", out var met) ? (met is true ? "yes" : "NO") : string.Empty,
                ]),
                new HashSet<int> { 1, 2, 3, 4 });
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  create p50 as timed by the server (timings): total {create["server_p50_ms"]} ms = load {create["server_load_p50_ms"]} + adapt {create["server_adapt_p50_ms"]} + estimate {create["server_estimate_p50_ms"]} + store {create["server_store_p50_ms"]} (p50 of each)"));
        }

        return 0;
    }

    private static string Fmt(object? value) => value is double d ? d.ToString("F1", CultureInfo.InvariantCulture) : "-";

    /// <summary>
    /// emojibase-data annotations of 5 to 14 words (about 15 tokens, the length of a product title), grouped by
    /// category and label: the categories with at least <see cref="Ways"/> labels of <see cref="Shots"/> such texts.
    /// </summary>
    private static List<List<List<RealTextItem>>> ShortRealTexts()
    {
        var items = RealTextData.LoadEmojibase(RealTextData.FindEmojibase());
        return [.. items.Where(i => i.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length is >= 5 and <= 14)
            .GroupBy(i => i.Category, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => g.GroupBy(i => i.Label, StringComparer.Ordinal).Where(l => l.Count() >= Shots).OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.ToList()).ToList())
            .Where(c => c.Count >= Ways)];
    }

    /// <summary>The text with a marker that makes it new to the server.</summary>
    private static string? Unique(string? text, string kind, int index) =>
        text is null ? null : string.Create(CultureInfo.InvariantCulture, $"{text} {kind}{index}");

    /// <summary>Resident memory after a full, compacting collection (what the process keeps, not garbage).</summary>
    private static double SettledRss()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }

    private static LocalServerOptions Options(string storage, string hub, string textEncoder) => new()
    {
        TextEncoder = textEncoder,
        Port = 0,
        StorageConnectionString = storage,
        ApiKey = null,
        RetrainSchedule = null,
        TaskHubName = hub,
        Logging = ServerLogging.Quiet,
    };

    private static Dictionary<string, object?> Line(string operation, int requests, int concurrency, IReadOnlyList<double> milliseconds, double? itemsPerSecond, int? batch, double? seconds)
    {
        var line = new Dictionary<string, object?>
        {
            ["benchmark"] = "api",
            ["operation"] = operation,
            ["requests"] = requests,
            ["concurrency"] = concurrency,
            ["p50_ms"] = Math.Round(Percentile(milliseconds, 50), 2),
            ["p95_ms"] = Math.Round(Percentile(milliseconds, 95), 2),
            ["p99_ms"] = Math.Round(Percentile(milliseconds, 99), 2),
            ["mean_ms"] = Math.Round(milliseconds.Average(), 2),
            ["max_ms"] = Math.Round(milliseconds.Max(), 2),
            ["items_per_second"] = itemsPerSecond is { } ips ? Math.Round(ips, 0) : null,
        };
        if (batch is { } b)
        {
            line["batch"] = b;
        }

        if (seconds is { } s)
        {
            line["seconds"] = Math.Round(s, 2);
        }

        return line;
    }

    /// <summary>Nearest-rank percentile.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double percentile)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>Runs <paramref name="count"/> calls, <paramref name="concurrency"/> at a time; returns each call's milliseconds and the wall time.</summary>
    private static async Task<(double[] Milliseconds, double Seconds)> MeasureAsync<T>(int count, int concurrency, Func<int, Task<T>> call)
    {
        var milliseconds = new double[count];
        var next = -1;
        var wall = Stopwatch.StartNew();
        async Task Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var clock = Stopwatch.StartNew();
                await call(i).ConfigureAwait(false);
                milliseconds[i] = clock.Elapsed.TotalMilliseconds;
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Math.Min(concurrency, count)).Select(_ => Task.Run(Worker))).ConfigureAwait(false);
        return (milliseconds, wall.Elapsed.TotalSeconds);
    }
}
