using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using ServerlessMeta.LocalHost;
using ServerlessMeta.Orchestration.Local;

namespace ServerlessMeta.Cli.Benchmarks;

/// <summary>What storage does to the service during a drill.</summary>
internal enum StorageFault
{
    /// <summary>Azurite frozen with SIGSTOP, then thawed with SIGCONT: connections open, nothing answers.</summary>
    Freeze,

    /// <summary>Azurite killed (SIGTERM: see <see cref="LocalAzurite.Kill"/>), then restarted on the same ports and data folder.</summary>
    Kill,
}

/// <summary>Settings of a drill: the service's deadlines and the length of the outage.</summary>
/// <param name="RequestTimeout">The API's request deadline (SMETA_API__REQUESTTIMEOUT).</param>
/// <param name="NetworkTimeout">One storage try's timeout (SMETA_STORAGE__NETWORKTIMEOUT).</param>
/// <param name="Outage">How long storage is frozen or down.</param>
/// <param name="Clients">Concurrent clients sending creates and predicts.</param>
/// <param name="AbandonedCreateAge">After this long a create that timed out may be retried over its unfinished row.</param>
internal sealed record FaultDrillOptions(TimeSpan RequestTimeout, TimeSpan NetworkTimeout, TimeSpan Outage, int Clients, TimeSpan AbandonedCreateAge)
{
    public static FaultDrillOptions Default { get; } = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(20), 4, TimeSpan.FromSeconds(30));
}

/// <summary>One request of a drill, timed from the drill's start.</summary>
internal sealed record DrillRequest(string Kind, string Target, double StartedAt, double Seconds, int Status, string? ProblemType, string? RetryAfter, string? HealthError);

/// <summary>What a drill saw: every request, when the outage was, and the state of every category afterwards.</summary>
internal sealed record FaultDrillReport(
    StorageFault Fault,
    FaultDrillOptions Options,
    IReadOnlyList<DrillRequest> Requests,
    double FaultStartedAt,
    double FaultEndedAt,
    double? RecoverySeconds,
    int CreatedIncomplete,
    int TimedOutCreatesAbsent,
    int TimedOutCreatesComplete,
    int TimedOutCreatesUnfinished,
    int RetriedCreatesFailed,
    IReadOnlyList<string> Failures,
    bool BaseCategoryIntact)
{
    /// <summary>Requests that were in flight at some moment of the outage.</summary>
    public IEnumerable<DrillRequest> DuringFault => Requests.Where(r => r.StartedAt < FaultEndedAt && r.StartedAt + r.Seconds > FaultStartedAt);

    public JsonObject ToJson()
    {
        var during = DuringFault.ToList();
        var statuses = new JsonObject();
        foreach (var group in Requests.GroupBy(r => r.Status).OrderBy(g => g.Key))
        {
            statuses[group.Key.ToString(CultureInfo.InvariantCulture)] = group.Count();
        }

        return new JsonObject
        {
            ["benchmark"] = "faults",
            ["fault"] = Fault.ToString().ToLowerInvariant(),
            ["outage_seconds"] = Options.Outage.TotalSeconds,
            ["request_timeout_seconds"] = Options.RequestTimeout.TotalSeconds,
            ["network_timeout_seconds"] = Options.NetworkTimeout.TotalSeconds,
            ["requests"] = Requests.Count,
            ["requests_during_fault"] = during.Count,
            ["status_counts"] = statuses,
            ["longest_request_seconds"] = Math.Round(Requests.Max(r => r.Seconds), 3),
            ["longest_during_fault_seconds"] = during.Count == 0 ? null : Math.Round(during.Max(r => r.Seconds), 3),
            ["longest_health_during_fault_seconds"] = during.Where(r => r.Kind == "health").Select(r => (double?)Math.Round(r.Seconds, 3)).Max(),
            ["recovery_seconds"] = RecoverySeconds is { } recovery ? Math.Round(recovery, 3) : null,
            ["created"] = Requests.Count(r => r is { Kind: "create", Status: 201 }),
            ["created_incomplete"] = CreatedIncomplete,
            ["timed_out_creates"] = new JsonObject
            {
                ["absent"] = TimedOutCreatesAbsent,
                ["complete"] = TimedOutCreatesComplete,
                ["unfinished"] = TimedOutCreatesUnfinished,
                ["retry_failed"] = RetriedCreatesFailed,
            },
            ["base_category_intact"] = BaseCategoryIntact,
            ["failures"] = new JsonArray([.. Failures.Select(f => (JsonNode)f)]),
        };
    }
}

/// <summary>
/// A storage outage under load, on a real Azurite and the real local host: clients keep creating categories,
/// predicting and asking for health while Azurite is frozen (SIGSTOP) or killed, then thawed or restarted on
/// the same data folder. Every request is timed; afterwards every category the service said it created is
/// checked for completeness, and every create that timed out is looked at and retried.
/// </summary>
internal static class FaultDrill
{
    private const string Key = "drill-key";

    public static async Task<FaultDrillReport> RunAsync(StorageFault fault, FaultDrillOptions options, TextWriter? progress = null, CancellationToken cancellationToken = default)
    {
        progress ??= TextWriter.Null;
        var failures = new List<string>();
        ArgumentNullException.ThrowIfNull(options);
        using var azurite = await LocalAzurite.StartAsync(persistent: true).ConfigureAwait(false);
        var serverOptions = new LocalServerOptions
        {
            Port = 0,
            StorageConnectionString = azurite.ConnectionString,
            ApiKey = Key,
            TaskHubName = "drill" + Guid.NewGuid().ToString("N")[..8],
            RetrainSchedule = null,
            TextEncoder = "hashed",
            Logging = logging => logging.ClearProviders(),
        };
        serverOptions.Settings["SMETA_API:RequestTimeout"] = options.RequestTimeout.ToString("c", CultureInfo.InvariantCulture);
        serverOptions.Settings["SMETA_API:HealthTimeout"] = TimeSpan.FromSeconds(Math.Min(2, options.RequestTimeout.TotalSeconds)).ToString("c", CultureInfo.InvariantCulture);
        serverOptions.Settings["SMETA_STORAGE:NetworkTimeout"] = options.NetworkTimeout.ToString("c", CultureInfo.InvariantCulture);
        serverOptions.Settings["SMETA_STORAGE:AbandonedCreateAge"] = options.AbandonedCreateAge.ToString("c", CultureInfo.InvariantCulture);
        await using var server = await LocalServer.StartAsync(serverOptions, cancellationToken).ConfigureAwait(false);
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Add("x-functions-key", Key);

        const string baseId = "drill-base";
        var created = await http.PostAsJsonAsync("api/categories", CreateBody(baseId), cancellationToken).ConfigureAwait(false);
        if (created.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"The drill's base category was not created: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)}");
        }

        var clock = Stopwatch.StartNew();
        var requests = new List<DrillRequest>();
        var next = 0;
        using var stop = new CancellationTokenSource();

        async Task<DrillRequest> SendAsync(string kind, string target, Func<Task<HttpResponseMessage>> send)
        {
            var started = clock.Elapsed.TotalSeconds;
            using var response = await send().ConfigureAwait(false);
            var seconds = clock.Elapsed.TotalSeconds - started;
            var body = await response.Content.ReadAsStringAsync(CancellationToken.None).ConfigureAwait(false);
            string? type = null, healthError = null;
            try
            {
                var json = JsonNode.Parse(body);
                type = json?["type"]?.GetValue<string>();
                healthError = kind == "health" ? json?["storage"]?["error"]?.GetValue<string>() : null;
            }
            catch (JsonException)
            {
                type = "(not JSON)";
            }

            var record = new DrillRequest(kind, target, started, seconds, (int)response.StatusCode, type, response.Headers.RetryAfter?.ToString(), healthError);
            lock (requests)
            {
                requests.Add(record);
            }

            return record;
        }

        async Task ClientAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var id = $"drill-{Interlocked.Increment(ref next):D4}";
                var create = await SendAsync("create", id, () => http.PostAsJsonAsync("api/categories", CreateBody(id), CancellationToken.None)).ConfigureAwait(false);
                var predict = await SendAsync("predict", baseId, () => http.PostAsJsonAsync($"api/categories/{baseId}/predict", PredictBody(), CancellationToken.None)).ConfigureAwait(false);
                if (create.Status == 503 || predict.Status == 503)
                {
                    // Back off a little, as a client should (the drill does not wait the whole Retry-After, to see recovery at once).
                    await Task.Delay(250, CancellationToken.None).ConfigureAwait(false);
                }
            }
        }

        async Task HealthAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                await SendAsync("health", "health", () => http.GetAsync("api/health", CancellationToken.None)).ConfigureAwait(false);
                await Task.Delay(250, CancellationToken.None).ConfigureAwait(false);
            }
        }

        var load = Enumerable.Range(0, options.Clients).Select(_ => Task.Run(ClientAsync, CancellationToken.None)).Append(Task.Run(HealthAsync, CancellationToken.None)).ToList();
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        var faultStarted = clock.Elapsed.TotalSeconds;
        await progress.WriteLineAsync($"  {fault}: storage out at {faultStarted:0.0} s").ConfigureAwait(false);
        if (fault == StorageFault.Freeze)
        {
            azurite.Suspend();
        }
        else
        {
            azurite.Kill();
        }

        await Task.Delay(options.Outage, cancellationToken).ConfigureAwait(false);
        if (fault == StorageFault.Freeze)
        {
            azurite.Resume();
        }
        else
        {
            await azurite.RestartAsync().ConfigureAwait(false);
        }

        var faultEnded = clock.Elapsed.TotalSeconds;
        await progress.WriteLineAsync($"  {fault}: storage back at {faultEnded:0.0} s").ConfigureAwait(false);

        // Keep the load on until a request that started after the outage succeeds, plus a little (at most a minute).
        double? recovery = null;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromMinutes(1))
        {
            lock (requests)
            {
                recovery = requests.Where(r => r.StartedAt >= faultEnded && r.Kind != "health" && r.Status is 200 or 201)
                    .Select(r => (double?)(r.StartedAt + r.Seconds - faultEnded)).Min();
            }

            if (recovery is not null && watch.Elapsed > TimeSpan.FromSeconds(3))
            {
                break;
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(load).ConfigureAwait(false);
        await progress.WriteLineAsync($"  {fault}: load stopped at {clock.Elapsed.TotalSeconds:0.0} s; checking {requests.Count(r => r.Kind == "create")} creates").ConfigureAwait(false);

        // Every category the service said it created is complete: it serves a version, holds its examples and predicts.
        var incomplete = 0;
        foreach (var request in requests.Where(r => r is { Kind: "create", Status: 201 }))
        {
            if (await StateAsync(http, request.Target, cancellationToken).ConfigureAwait(false) is not CategoryState.Complete and var state)
            {
                incomplete++;
                failures.Add($"{request.Target}: created (201) but {state}");
            }
        }

        // A create that timed out left nothing, or a complete category (its last write landed after the deadline), or an
        // unfinished one that a retry takes over once it is old enough.
        int absent = 0, complete = 0, unfinished = 0, retryFailed = 0;
        var timedOut = requests.Where(r => r is { Kind: "create", Status: 503 }).ToList();
        foreach (var request in timedOut)
        {
            switch (await StateAsync(http, request.Target, cancellationToken).ConfigureAwait(false))
            {
                case CategoryState.Absent:
                    absent++;
                    break;
                case CategoryState.Complete:
                    complete++;
                    break;
                default:
                    unfinished++;
                    break;
            }
        }

        if (timedOut.Count > 0)
        {
            var oldest = timedOut.Max(r => r.StartedAt);
            var wait = TimeSpan.FromSeconds(oldest) + options.AbandonedCreateAge + TimeSpan.FromSeconds(1) - clock.Elapsed;
            if (unfinished > 0 && wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }

            foreach (var request in timedOut)
            {
                using var retry = await http.PostAsJsonAsync("api/categories", CreateBody(request.Target), cancellationToken).ConfigureAwait(false);
                var state = await StateAsync(http, request.Target, cancellationToken).ConfigureAwait(false);
                if (retry.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.Conflict) || state != CategoryState.Complete)
                {
                    retryFailed++;
                    var body = await retry.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                    failures.Add($"{request.Target}: retried create answered {(int)retry.StatusCode} ({body[..Math.Min(body.Length, 300)]}), category {state}");
                }
            }
        }

        var baseIntact = await StateAsync(http, baseId, cancellationToken).ConfigureAwait(false) == CategoryState.Complete;
        return new FaultDrillReport(fault, options, [.. requests.OrderBy(r => r.StartedAt)], faultStarted, faultEnded, recovery, incomplete, absent, complete, unfinished, retryFailed, failures, baseIntact);
    }

    private enum CategoryState
    {
        Absent,
        Unfinished,
        Complete,
    }

    private static async Task<CategoryState> StateAsync(HttpClient http, string id, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync($"api/categories/{id}", cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return CategoryState.Absent;
        }

        response.EnsureSuccessStatusCode();
        var category = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false))!;
        if (category["servingVersion"] is null || category["exampleCount"]?.GetValue<long>() is not > 0)
        {
            return CategoryState.Unfinished;
        }

        using var predict = await http.PostAsJsonAsync($"api/categories/{id}/predict", PredictBody(), cancellationToken).ConfigureAwait(false);
        return predict.StatusCode == HttpStatusCode.OK ? CategoryState.Complete : CategoryState.Unfinished;
    }

    private static JsonObject CreateBody(string id)
    {
        JsonObject Example(string text, string label) => new() { ["text"] = text, ["label"] = label };
        return new JsonObject
        {
            ["categoryId"] = id,
            ["examples"] = new JsonArray(
                Example("green jade bangle", "bangle"), Example("carved jade cuff", "bangle"),
                Example("jade bead bracelet", "beaded"), Example("stretch bracelet of jade beads", "beaded")),
        };
    }

    private static JsonObject PredictBody() => new() { ["items"] = new JsonArray(new JsonObject { ["text"] = "jade bangle" }) };
}
