using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ServerlessMeta.Application;
using ServerlessMeta.Application.Pretraining;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Orchestration.Local;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Cli.Benchmarks;

/// <summary>
/// <c>smeta bench durable --workers N [--cores-per-worker C]</c>: the same durable pretraining plan run by one
/// <c>smeta worker</c> process and by N of them on one task hub, each worker pinned to its own C cores
/// (<c>taskset</c>), so that the comparison is fair on one machine. The plan has N shards (one per worker) of
/// C threads, so both runs compute the same meta-steps from the same seeds: their held-out losses at equal
/// meta-steps are printed to show it, and the speed-up is the one-worker time over the N-worker time. Then the
/// embedding phase of a sentence-encoder run, on a fresh container each time (an empty embedding cache): texts
/// embedded per second with 1 and N workers.
/// </summary>
internal static class DurableScaleOutBenchmark
{

    public static async Task<int> RunAsync(MetaAlgorithm algorithm, int workers, int coresPerWorker, int steps, int metaBatch, int localSteps, int validationInterval, bool measureEmbedding, int pollingMilliseconds, long seed, bool json, CancellationToken cancellationToken)
    {
        if ((long)workers * coresPerWorker > Environment.ProcessorCount)
        {
            await Console.Error.WriteLineAsync($"--workers {workers} x --cores-per-worker {coresPerWorker} needs {workers * coresPerWorker} cores; this machine has {Environment.ProcessorCount}.").ConfigureAwait(false);
            return 2;
        }

        var say = BenchmarkOptions.Progress(json);
        var (azurite, connection) = await DurableBenchmark.OpenStorageAsync().ConfigureAwait(false);
        using var ownedAzurite = azurite;
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var storage = new BenchStorage(connection, "bench" + suffix, "Bench" + suffix, azurite, pollingMilliseconds);
        await using var services = LocalPretrainingHost.CreateServices(connection, storage.Container, storage.Table, "bench");
        var catalog = await DurableBenchmark.StoreCatalogAsync(services, seed, cancellationToken).ConfigureAwait(false);

        // Training: hashed text features, so the figures are the meta-training's alone.
        localSteps = Math.Max(1, Math.Min(localSteps, steps));
        var rounds = Math.Max(1, steps / localSteps);
        var everyRounds = Math.Max(1, (validationInterval > 0 ? validationInterval : steps / 10) / localSteps);
        var plan = DurableBenchmark.StandardPlan("bench-" + suffix, algorithm, rounds, metaBatch, seed, everyRounds) with
        {
            Shards = Math.Min(workers, metaBatch),
            ThreadsPerShard = coresPerWorker,
            LocalSteps = localSteps,
            TextEncoder = TextFeaturesOptions.Hashed,
            CheckpointPeriod = 50,
        };
        var pretrainingData = services.GetRequiredService<PretrainingData>();
        var data = await pretrainingData.GetDataAsync(plan with { RunId = "bench-data-" + suffix }, cancellationToken).ConfigureAwait(false);
        plan = plan with { DataSnapshotId = data.SnapshotId };
        say(string.Create(CultureInfo.InvariantCulture, $"{catalog.Count} categories stored; plan: {plan.Shards} shards x {coresPerWorker} threads, {localSteps} local steps, {rounds} rounds ({rounds * localSteps} meta-steps), validation every {everyRounds} rounds"));

        var results = new List<TrainingRun>();
        foreach (var count in workers == 1 ? new[] { 1 } : [1, workers])
        {
            var run = await RunTrainingAsync(storage, plan, count, coresPerWorker, say, cancellationToken).ConfigureAwait(false);
            results.Add(run);
        }

        var one = results[0];
        var best = one.Losses.Min(l => l.Loss);
        var initial = one.Losses[0].Loss;
        var target = best + (0.1 * (initial - best));
        foreach (var run in results)
        {
            var toTarget = run.Losses.FirstOrDefault(l => l.Loss <= target);
            var line = new JsonObject
            {
                ["benchmark"] = "durable-scaleout",
                ["phase"] = "training",
                ["algorithm"] = algorithm.ToWireName(),
                ["workers"] = run.Workers,
                ["cores_per_worker"] = coresPerWorker,
                ["shards"] = plan.Shards,
                ["local_steps"] = localSteps,
                ["max_polling_interval_ms"] = pollingMilliseconds,
                ["meta_batch"] = metaBatch,
                ["rounds"] = rounds,
                ["seconds_per_round"] = Math.Round(run.Seconds / rounds, 3),
                ["seconds_to_target"] = toTarget.Seconds > 0 ? Math.Round(toTarget.Seconds, 2) : null,
                ["target_loss"] = Math.Round(target, 4),
                ["held_out_loss_by_meta_step"] = new JsonArray([.. run.Losses.Select(l => (JsonNode)new JsonArray(l.MetaSteps, Math.Round(l.Loss, 4)))]),
                ["test_accuracy"] = run.TestAccuracy,
                ["wall_seconds"] = Math.Round(run.Seconds, 2),
                ["worker_cpu_seconds"] = Math.Round(run.Cpu.Workers, 1),
                ["azurite_cpu_seconds"] = run.Cpu.Azurite is { } a ? Math.Round(a, 1) : null,
            };
            if (run.Workers > 1)
            {
                var oneToTarget = one.Losses.First(l => l.Loss <= target).Seconds;
                line["speedup"] = toTarget.Seconds > 0 ? Math.Round(oneToTarget / toTarget.Seconds, 3) : null;
                line["speedup_per_round"] = Math.Round(one.Seconds / run.Seconds, 3);
            }

            Print(line, json);
        }

        // Embedding phase: a fresh container per configuration, so every text is embedded (no cache hits).
        var embedding = new List<(int Workers, int Texts, double Seconds, CpuUse Cpu)>();
        foreach (var count in !measureEmbedding ? [] : workers == 1 ? new[] { 1 } : [1, workers])
        {
            var fresh = storage with { Container = $"emb{count}{suffix}", Table = $"Emb{count}{suffix}" };
            await using var freshServices = LocalPretrainingHost.CreateServices(connection, fresh.Container, fresh.Table, "bench");
            await DurableBenchmark.StoreCatalogAsync(freshServices, seed, cancellationToken).ConfigureAwait(false);
            var embedPlan = plan with
            {
                TextEncoder = TextFeaturesOptions.MiniLm,
                Rounds = 1,
                LocalSteps = 1,
                ValidationInterval = 1,
                DataSnapshotId = null,
                EmbeddingChunkSize = Math.Max(1, catalog.DistinctTexts / (count * 4)),
            };
            var (seconds, cpu) = await RunEmbeddingAsync(fresh, embedPlan, count, coresPerWorker, say, cancellationToken).ConfigureAwait(false);
            embedding.Add((count, catalog.DistinctTexts, seconds, cpu));
        }

        foreach (var (count, texts, seconds, cpu) in embedding)
        {
            var line = new JsonObject
            {
                ["benchmark"] = "durable-scaleout",
                ["phase"] = "embedding",
                ["workers"] = count,
                ["cores_per_worker"] = coresPerWorker,
                ["texts"] = texts,
                ["seconds"] = Math.Round(seconds, 2),
                ["texts_per_second"] = Math.Round(texts / seconds, 1),
                ["worker_cpu_seconds"] = Math.Round(cpu.Workers, 1),
                ["azurite_cpu_seconds"] = cpu.Azurite is { } a ? Math.Round(a, 1) : null,
            };
            if (count > 1)
            {
                line["speedup"] = Math.Round(embedding[0].Seconds / seconds, 3);
            }

            Print(line, json);
        }

        return 0;
    }

    private static void Print(JsonObject line, bool json) =>
        Console.WriteLine(json ? line.ToJsonString() : string.Join("  ", line.Where(p => p.Key != "benchmark").Select(p => $"{p.Key}={p.Value?.ToJsonString()}")));

    /// <summary>Where the runs' data lives, and the workers' longest wait between polls of an idle queue.</summary>
    private sealed record BenchStorage(string ConnectionString, string Container, string Table, LocalAzurite? Azurite, int PollingMilliseconds);

    /// <summary>CPU seconds the workers and Azurite used during a timed run, beside its wall-clock seconds.</summary>
    private sealed record CpuUse(double Workers, double? Azurite);

    private sealed record TrainingRun(int Workers, double Seconds, List<(int MetaSteps, double Loss, double Seconds)> Losses, double? TestAccuracy, CpuUse Cpu);

    private static async Task<TrainingRun> RunTrainingAsync(BenchStorage storage, PretrainingPlan plan, int workers, int cores, Action<string> say, CancellationToken cancellationToken)
    {
        var hub = "train" + workers + Guid.NewGuid().ToString("N")[..8];
        await using var pool = await WorkerPool.StartAsync(storage, hub, workers, cores, cancellationToken).ConfigureAwait(false);
        var client = pool.Client;

        // Warm up every worker (libtorch, connections) with a short run of the same shape.
        await RunToEndAsync(client, plan with { RunId = hub + "-warmup", Rounds = Math.Min(2, plan.Rounds), ValidationInterval = 1 }, null, cancellationToken).ConfigureAwait(false);

        var losses = new List<(int MetaSteps, double Loss, double Seconds)>();
        var cpu = pool.StartCpuMeasurement();
        var startedAt = DateTimeOffset.UtcNow;
        double? lastLoss = null;
        var final = await RunToEndAsync(client, plan with { RunId = hub + "-run" }, state =>
        {
            if (state.Progress is { HeldOutLoss: { } loss } progress && loss != lastLoss)
            {
                lastLoss = loss;
                var seconds = (state.LastUpdatedAt - startedAt).TotalSeconds;
                // The status is polled, so it may already show a later round than the evaluation's: the loss belongs
                // to the latest evaluated round (every ValidationInterval rounds, round 0 and the last round).
                var evaluated = progress.Round == plan.Rounds ? progress.Round : progress.Round - (progress.Round % plan.ValidationInterval);
                losses.Add((evaluated * plan.LocalSteps, loss, seconds));
                say(string.Create(CultureInfo.InvariantCulture, $"  {workers} worker(s)  t={seconds,6:F1} s  round {progress.Round}/{progress.Rounds}  held-out loss {loss:F4}"));
            }
        }, cancellationToken).ConfigureAwait(false);
        var total = losses.Count > 0 ? Math.Max(losses[^1].Seconds, (final.LastUpdatedAt - startedAt).TotalSeconds) : (final.LastUpdatedAt - startedAt).TotalSeconds;
        return new TrainingRun(workers, total, losses, final.Outcome?.TestAccuracy, cpu());
    }

    private static async Task<(double Seconds, CpuUse Cpu)> RunEmbeddingAsync(BenchStorage storage, PretrainingPlan plan, int workers, int cores, Action<string> say, CancellationToken cancellationToken)
    {
        var hub = "embed" + workers + Guid.NewGuid().ToString("N")[..8];
        await using var pool = await WorkerPool.StartAsync(storage, hub, workers, cores, cancellationToken).ConfigureAwait(false);
        var cpu = pool.StartCpuMeasurement();
        var startedAt = DateTimeOffset.UtcNow;
        DateTimeOffset? embedded = null;
        await RunToEndAsync(pool.Client, plan with { RunId = hub + "-run" }, state =>
        {
            if (embedded is null && state.Progress is { Phase: not "embedding" })
            {
                embedded = state.LastUpdatedAt;
            }
        }, cancellationToken).ConfigureAwait(false);
        var seconds = ((embedded ?? DateTimeOffset.UtcNow) - startedAt).TotalSeconds;
        say(string.Create(CultureInfo.InvariantCulture, $"  {workers} worker(s)  embedding phase {seconds:F1} s"));
        return (seconds, cpu());
    }

    private static async Task<PretrainingRunState> RunToEndAsync(LocalDurableClient client, PretrainingPlan plan, Action<PretrainingRunState>? progress, CancellationToken cancellationToken)
    {
        var instance = await client.StartPretrainingAsync(plan).ConfigureAwait(false);
        var final = await client.WaitForCompletionAsync(instance, TimeSpan.FromHours(2), TimeSpan.FromMilliseconds(250), progress, cancellationToken).ConfigureAwait(false);
        if (final.RuntimeStatus != DurableTask.Core.OrchestrationStatus.Completed)
        {
            throw new InvalidOperationException($"Run {plan.RunId} ended {final.RuntimeStatus}: {final.Failure}");
        }

        return final;
    }

    /// <summary>N <c>smeta worker</c> processes on one task hub, each pinned to its own cores; stopped (SIGTERM) on dispose.</summary>
    private sealed class WorkerPool : IAsyncDisposable
    {
        private readonly List<Process> _processes;
        private readonly LocalAzurite? _azurite;

        private WorkerPool(List<Process> processes, LocalDurableClient client, LocalAzurite? azurite)
        {
            _processes = processes;
            Client = client;
            _azurite = azurite;
        }

        /// <summary>Starts counting the workers' and Azurite's CPU time; the function returns what they used since.</summary>
        public Func<CpuUse> StartCpuMeasurement()
        {
            var (workers, azurite) = (WorkerCpu(), _azurite?.CpuTime);
            return () => new CpuUse((WorkerCpu() - workers).TotalSeconds, _azurite is null ? null : (_azurite.CpuTime - azurite!.Value).TotalSeconds);
        }

        private TimeSpan WorkerCpu() => _processes.Aggregate(TimeSpan.Zero, (sum, p) =>
        {
            p.Refresh();
            return p.HasExited ? sum : sum + p.TotalProcessorTime;
        });

        public LocalDurableClient Client { get; }

        public static async Task<WorkerPool> StartAsync(BenchStorage storage, string hub, int workers, int cores, CancellationToken cancellationToken)
        {
            var client = new LocalDurableClient(new LocalEngineOptions { ConnectionString = storage.ConnectionString, TaskHubName = hub, WorkerId = "bench-client" });
            await client.CreateTaskHubAsync().ConfigureAwait(false);
            var processes = new List<Process>();
            var pool = new WorkerPool(processes, client, storage.Azurite);
            try
            {
                for (var i = 0; i < workers; i++)
                {
                    var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    var start = new ProcessStartInfo("taskset") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                    start.ArgumentList.Add("-c");
                    start.ArgumentList.Add(string.Join(',', Enumerable.Range(i * cores, cores)));
                    foreach (var argument in SmetaCommandLine())
                    {
                        start.ArgumentList.Add(argument);
                    }

                    foreach (var argument in new[]
                    {
                        "worker", "--storage", storage.ConnectionString, "--container", storage.Container, "--table", storage.Table,
                        "--task-hub", hub, "--worker-id", $"{hub}-w{i}", "--activities", cores.ToString(CultureInfo.InvariantCulture),
                        "--max-polling-interval-ms", storage.PollingMilliseconds.ToString(CultureInfo.InvariantCulture),
                    })
                    {
                        start.ArgumentList.Add(argument);
                    }

                    var process = Process.Start(start) ?? throw new InvalidOperationException("taskset did not start.");
                    processes.Add(process);
                    process.OutputDataReceived += (_, e) =>
                    {
                        if (e.Data?.Contains("ready on task hub", StringComparison.Ordinal) == true)
                        {
                            ready.TrySetResult();
                        }
                    };
                    process.ErrorDataReceived += (_, _) => { };
                    process.BeginOutputReadLine();
                    process.BeginErrorReadLine();
                    await ready.Task.WaitAsync(TimeSpan.FromMinutes(2), cancellationToken).ConfigureAwait(false);
                }

                return pool;
            }
            catch
            {
                await pool.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>How to run this same smeta: its apphost, or <c>dotnet smeta.dll</c>.</summary>
        private static IEnumerable<string> SmetaCommandLine()
        {
            var path = Environment.ProcessPath ?? throw new InvalidOperationException("The process path is unknown.");
            return Path.GetFileNameWithoutExtension(path) == "dotnet" ? [path, typeof(DurableScaleOutBenchmark).Assembly.Location] : [path];
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var process in _processes.Where(p => !p.HasExited))
            {
                using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", process.Id.ToString(CultureInfo.InvariantCulture) }, UseShellExecute = false });
                kill?.WaitForExit();
            }

            foreach (var process in _processes)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    process.Kill(entireProcessTree: true);
                }

                process.Dispose();
            }

            await Client.DeleteTaskHubAsync().ConfigureAwait(false);
        }
    }
}
