using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ServerlessMeta.Application;
using ServerlessMeta.Application.Pretraining;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Learning.Training;
using ServerlessMeta.Orchestration.Local;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Cli.Benchmarks;

/// <summary>
/// <c>smeta bench durable</c>: the same pretraining in process (<see cref="MetaTrainer"/>) and as a
/// durable orchestration on the local engine over Azurite, on the same stored catalogue and the same
/// held-out episodes: time per round and time to a target held-out loss (90% of the in-process run's
/// improvement), and their ratio. Both are timed warm, as in a running service: a few untimed in-process
/// steps on a throwaway model, and an untimed one-round durable run on the same worker, go first, so that
/// neither side pays for first-use compilation and connections.
/// </summary>
internal static class DurableBenchmark
{
    public const double Target = 1.3;

    private const int WarmUpSteps = 5;

    public static Command CreateCommand()
    {
        var names = MetaAlgorithms.All.Select(a => a.ToWireName()).ToArray();
        var algorithm = BenchmarkOptions.Algorithm("protonet", names);
        var rounds = new Option<int>("--rounds") { Description = "In-process meta-steps (the durable run takes the same number of steps, --local-steps per round).", DefaultValueFactory = _ => 400 };
        rounds.Positive();
        var metaBatch = new Option<int>("--meta-batch") { Description = "Tasks per meta-step.", DefaultValueFactory = _ => 32 };
        metaBatch.Positive();
        var localSteps = new Option<int>("--local-steps") { Description = "Durable: meta-steps each shard takes per round before the shards' parameters are averaged (1: exact synchronous).", DefaultValueFactory = _ => 30 };
        localSteps.Positive();
        var shards = new Option<int>("--shards") { Description = "Durable: activities per round. One machine: 1 shard using every core (--threads-per-shard) beats several single-threaded shards, whose averaged local steps converge more slowly.", DefaultValueFactory = _ => 1 };
        shards.Positive();
        var threadsPerShard = new Option<int>("--threads-per-shard") { Description = "Durable: tasks computed in parallel inside one shard activity (default: cores / shards).", DefaultValueFactory = _ => 0 };
        var validationInterval = new Option<int>("--validation-interval") { Description = "Meta-steps between held-out evaluations (default: rounds / 10).", DefaultValueFactory = _ => 0 };
        var workers = new Option<int>("--workers")
        {
            Description = "Scale-out mode: run the same plan (one shard per worker) with 1 and with N separate 'smeta worker' processes on one task hub, and the embedding phase likewise; prints time per round, time to target and the speed-up.",
            DefaultValueFactory = _ => 0,
        };
        var coresPerWorker = new Option<int>("--cores-per-worker") { Description = "Scale-out mode: cores each worker is pinned to (taskset) and uses.", DefaultValueFactory = _ => 1 };
        coresPerWorker.Positive();
        var noEmbedding = new Option<bool>("--no-embedding") { Description = "Scale-out mode: skip the embedding-phase measurement." };
        var polling = new Option<int>("--max-polling-interval-ms")
        {
            Description = "Scale-out mode: the workers' longest wait between polls of an idle queue. Each round is four queue hops between processes, so 50 ms (measured: 1.61x with 2 workers against 1.40x at 100 ms and 1.37x at 500 ms) beats the worker's default of 100 ms here, at about 8% more CPU.",
            DefaultValueFactory = _ => 50,
        };
        polling.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 50 or > 30_000)
            {
                r.AddError("--max-polling-interval-ms must be between 50 and 30000.");
            }
        });
        var seed = BenchmarkOptions.Seed();
        var json = BenchmarkOptions.Json();
        var command = new Command("durable", "In-process versus durable pretraining (local Durable Task engine on Azurite): time per round and time to a target held-out loss.")
        {
            algorithm, rounds, metaBatch, localSteps, shards, threadsPerShard, validationInterval, workers, coresPerWorker, noEmbedding, polling, seed, json,
        };
        command.SetAction((parse, cancellationToken) => parse.GetValue(workers) > 0
            ? DurableScaleOutBenchmark.RunAsync(
                BenchmarkOptions.ParseAlgorithm(parse.GetValue(algorithm)!),
                parse.GetValue(workers),
                parse.GetValue(coresPerWorker),
                parse.GetValue(rounds),
                parse.GetValue(metaBatch),
                parse.GetValue(localSteps),
                parse.GetValue(validationInterval),
                !parse.GetValue(noEmbedding),
                parse.GetValue(polling),
                parse.GetValue(seed),
                parse.GetValue(json),
                cancellationToken)
            : RunAsync(
            BenchmarkOptions.ParseAlgorithm(parse.GetValue(algorithm)!),
            parse.GetValue(rounds),
            parse.GetValue(metaBatch),
            parse.GetValue(localSteps),
            parse.GetValue(shards),
            parse.GetValue(threadsPerShard),
            parse.GetValue(validationInterval),
            parse.GetValue(seed),
            parse.GetValue(json),
            cancellationToken));
        return command;
    }

    /// <summary>The storage of a benchmark: <c>SMETA_STORAGE</c> when set, else a private Azurite (returned, for the caller to dispose).</summary>
    public static async Task<(LocalAzurite? Azurite, string Connection)> OpenStorageAsync()
    {
        var configured = Environment.GetEnvironmentVariable("SMETA_STORAGE");
        var azurite = string.IsNullOrWhiteSpace(configured) ? await LocalAzurite.StartAsync().ConfigureAwait(false) : null;
        return (azurite, azurite?.ConnectionString ?? configured!);
    }

    /// <summary>The plan shape both durable benchmarks train: 5-way 5-shot episodes of the standard catalogue, a 64-wide network.</summary>
    public static PretrainingPlan StandardPlan(string runId, MetaAlgorithm algorithm, int rounds, int metaBatch, long seed, int validationInterval) => new()
    {
        RunId = runId,
        Algorithm = algorithm.ToWireName(),
        Rounds = rounds,
        MetaBatchSize = metaBatch,
        Ways = 5,
        Shots = 5,
        QueriesPerClass = 5,
        EvaluationQueriesPerClass = 10,
        Seed = seed,
        ValidationInterval = validationInterval,
        ValidationEpisodes = 100,
        TestEpisodes = 200,
        HiddenWidth = 64,
        TextDimension = 256,
    };

    /// <summary>What <see cref="StoreCatalogAsync"/> stored.</summary>
    public sealed record StoredCatalog(int Count, int DistinctTexts);

    /// <summary>Stores the standard synthetic catalogue (train, validation and test categories) through the dataset store.</summary>
    public static async Task<StoredCatalog> StoreCatalogAsync(IServiceProvider services, long seed, CancellationToken cancellationToken)
    {
        await services.GetRequiredService<StorageMaintenance>().InitializeAsync(cancellationToken).ConfigureAwait(false);
        var catalog = new SyntheticCatalog(SyntheticCatalogOptions.Standard, seed);
        var categories = catalog.Generate("cat", SyntheticCatalogOptions.Standard.TrainCategories + SyntheticCatalogOptions.Standard.ValidationCategories + SyntheticCatalogOptions.Standard.TestCategories);
        foreach (var category in categories)
        {
            await services.GetRequiredService<CategoryRegistry>().CreateCategoryAsync(category.CategoryId, cancellationToken).ConfigureAwait(false);
            await services.GetRequiredService<DatasetStore>().AppendExamplesAsync(
                category.CategoryId, [.. category.Items.Select(i => new StoredExample(i.Features, i.Text, i.Label[(i.Label.IndexOf('/', StringComparison.Ordinal) + 1)..]))], cancellationToken).ConfigureAwait(false);
        }

        return new StoredCatalog(categories.Count, categories.SelectMany(c => c.Items).Select(i => i.Text).OfType<string>().Distinct(StringComparer.Ordinal).Count());
    }

    public static async Task<int> RunAsync(MetaAlgorithm algorithm, int steps, int metaBatch, int localSteps, int shards, int threadsPerShard, int validationInterval, long seed, bool json, CancellationToken cancellationToken)
    {
        TorchSetup.ForTaskParallelism();
        var cores = Environment.ProcessorCount;
        shards = Math.Min(shards, metaBatch);
        threadsPerShard = threadsPerShard > 0 ? threadsPerShard : Math.Max(1, cores / shards);
        validationInterval = validationInterval > 0 ? validationInterval : Math.Max(1, steps / 10);

        // Both runs evaluate after the same meta-steps: the interval is a whole number of durable rounds.
        localSteps = Math.Min(localSteps, validationInterval);
        validationInterval = validationInterval / localSteps * localSteps;
        var say = BenchmarkOptions.Progress(json);
        var (azurite, connection) = await OpenStorageAsync().ConfigureAwait(false);
        using var ownedAzurite = azurite;
        var suffix = Guid.NewGuid().ToString("N")[..10];
        await using var services = LocalPretrainingHost.CreateServices(connection, "bench" + suffix, "Bench" + suffix, "bench");
        var pretrainingData = services.GetRequiredService<PretrainingData>();

        // The data: the standard synthetic catalogue, stored through the dataset store.
        var seeding = Stopwatch.StartNew();
        var categories = await StoreCatalogAsync(services, seed, cancellationToken).ConfigureAwait(false);

        var basePlan = StandardPlan("bench-inprocess-" + suffix, algorithm, steps, metaBatch, seed, validationInterval) with { Shards = 1 };
        var data = await pretrainingData.GetDataAsync(basePlan, cancellationToken).ConfigureAwait(false);
        var (episodes, _) = await pretrainingData.GetEvaluationSetAsync(basePlan, EvaluationSplit.Validation, cancellationToken).ConfigureAwait(false);
        say(string.Create(CultureInfo.InvariantCulture, $"stored {categories.Count} categories ({data.Train.Count} train, {data.Validation.Count} validation, {data.Test.Count} test) in {seeding.Elapsed.TotalSeconds:F1} s"));

        // In process: MetaTrainer with every core on the meta-batch, held-out loss every validation interval.
        var config = new ModelConfig { TaskKind = TaskKind.Classification, InputDimension = data.Featurizer.OutputDimension, HiddenWidths = [basePlan.HiddenWidth] };
        using (var warmUp = MetaModel.Create(algorithm, config, basePlan.Hyperparameters(), data.Featurizer, seed))
        {
            MetaTrainer.Train(warmUp, data.TrainingSampler(basePlan), new TrainingOptions { Iterations = WarmUpSteps, MetaBatchSize = metaBatch, Seed = seed + 1, Threads = cores }, cancellationToken: cancellationToken);
            _ = warmUp.ComputeUpdate(episodes, cores);
        }

        using var model = MetaModel.Create(algorithm, config, basePlan.Hyperparameters(), data.Featurizer, seed);
        var timeline = new List<(double Seconds, double Loss)>();
        var clock = Stopwatch.StartNew();
        MetaTrainer.Train(
            model,
            data.TrainingSampler(basePlan),
            new TrainingOptions { Iterations = steps, MetaBatchSize = metaBatch, Seed = seed, Threads = cores, ValidationInterval = validationInterval },
            m =>
            {
                var loss = m.ComputeUpdate(episodes, cores).MeanLoss;
                var accuracy = Evaluator.ClassificationAccuracy(m, episodes, maxParallelism: cores).Average();
                timeline.Add((clock.Elapsed.TotalSeconds, loss));
                say(string.Create(CultureInfo.InvariantCulture, $"  in-process  t={clock.Elapsed.TotalSeconds,6:F1} s  held-out loss {loss:F4}  accuracy {accuracy:F3}"));
                return accuracy;
            },
            cancellationToken: cancellationToken);
        var inProcessSeconds = clock.Elapsed.TotalSeconds;
        var initial = timeline[0].Loss;
        var best = timeline.Min(t => t.Loss);
        var target = best + (0.1 * (initial - best));
        var inProcessToTarget = timeline.First(t => t.Loss <= target).Seconds;

        // Durable: the same data snapshot, the local engine in this process, one activity slot per core.
        var engine = new LocalEngineOptions { ConnectionString = connection, TaskHubName = "bench" + suffix, WorkerId = "bench", MaxConcurrentActivities = cores };
        var client = new LocalDurableClient(engine);
        await client.CreateTaskHubAsync().ConfigureAwait(false);
        await using var worker = await LocalDurableWorker.StartAsync(client, services, cancellationToken).ConfigureAwait(false);
        var durableRounds = (steps + localSteps - 1) / localSteps;
        var plan = basePlan with
        {
            RunId = "bench-durable-" + suffix,
            Rounds = durableRounds,
            Shards = shards,
            ThreadsPerShard = threadsPerShard,
            LocalSteps = localSteps,
            ValidationInterval = validationInterval / localSteps,
            CheckpointPeriod = 50,
            DataSnapshotId = data.SnapshotId,
        };
        var warmUpRun = await client.StartPretrainingAsync(plan with { RunId = plan.RunId + "-warmup", Rounds = 1, LocalSteps = 1, ValidationInterval = 1 }).ConfigureAwait(false);
        var warmed = await client.WaitForCompletionAsync(warmUpRun, TimeSpan.FromMinutes(10), TimeSpan.FromMilliseconds(100), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (warmed.RuntimeStatus != DurableTask.Core.OrchestrationStatus.Completed)
        {
            Console.Error.WriteLine($"The warm-up run ended {warmed.RuntimeStatus}: {warmed.Failure}");
            return 1;
        }

        // Times come from when the orchestration wrote each status, not from when this loop saw it, so the
        // loop can poll slowly and leave the cores to the run.
        var startedAt = DateTimeOffset.UtcNow;
        double Since(DateTimeOffset at) => Math.Max(0, (at - startedAt).TotalSeconds);
        var instance = await client.StartPretrainingAsync(plan).ConfigureAwait(false);
        double? durableToTarget = null;
        double? lastRoundAt = null;
        double? lastLoss = null;
        var final = await client.WaitForCompletionAsync(instance, TimeSpan.FromHours(2), TimeSpan.FromMilliseconds(250), state =>
        {
            if (state.Progress is not { } progress)
            {
                return;
            }

            if (progress.HeldOutLoss is { } loss && loss != lastLoss)
            {
                lastLoss = loss;
                say(string.Create(CultureInfo.InvariantCulture, $"  durable     t={Since(state.LastUpdatedAt),6:F1} s  round {progress.Round}/{progress.Rounds}  held-out loss {loss:F4}  accuracy {progress.HeldOutAccuracy:F3}"));
                if (durableToTarget is null && loss <= target)
                {
                    durableToTarget = Since(state.LastUpdatedAt);
                }
            }

            if (progress.Round == plan.Rounds && lastRoundAt is null)
            {
                lastRoundAt = Since(state.LastUpdatedAt);
            }
        }, cancellationToken).ConfigureAwait(false);
        if (final.Outcome is null)
        {
            Console.Error.WriteLine($"The durable run ended {final.RuntimeStatus}: {final.Failure}");
            return 1;
        }

        var inProcessMsPerRound = inProcessSeconds * 1000 / steps;
        var durableMsPerRound = (lastRoundAt ?? Since(DateTimeOffset.UtcNow)) * 1000 / plan.Rounds;
        double? ratio = durableToTarget is { } d ? d / inProcessToTarget : null;
        var met = ratio is { } r && r <= Target;
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                benchmark = "durable",
                algorithm = algorithm.ToWireName(),
                rounds = steps,
                meta_batch = metaBatch,
                inprocess_ms_per_round = Math.Round(inProcessMsPerRound, 2),
                durable_ms_per_round = Math.Round(durableMsPerRound, 2),
                inprocess_s_to_target = Math.Round(inProcessToTarget, 2),
                durable_s_to_target = durableToTarget is { } dt ? Math.Round(dt, 2) : (double?)null,
                ratio_to_target = ratio is { } rt ? Math.Round(rt, 3) : (double?)null,
                target_met = met,
                local_steps = localSteps,
                durable_rounds = plan.Rounds,
                durable_ms_per_step = Math.Round(durableMsPerRound / localSteps, 2),
                shards = plan.Shards,
                threads_per_shard = plan.ThreadsPerShard,
                target_loss = Math.Round(target, 4),
                inprocess_best_loss = Math.Round(best, 4),
                initial_loss = Math.Round(initial, 4),
                durable_test_accuracy = final.Outcome.TestAccuracy,
                baseline_centroid = final.Outcome.BaselineAccuracy,
                seed,
                cores,
            }));
        }
        else
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $$"""
                durable  algorithm={{algorithm.ToWireName()}}  meta-batch={{metaBatch}}  steps={{steps}}  cores={{cores}}  seed={{seed}}
                  in-process            {{inProcessMsPerRound,8:F1}} ms per round (meta-step)   {{inProcessSeconds,6:F1}} s total
                  durable ({{plan.Shards}} shards x {{plan.ThreadsPerShard}} threads, {{localSteps}} local steps) {{durableMsPerRound,8:F1}} ms per round = {{durableMsPerRound / localSteps:F1}} ms per meta-step   {{plan.Rounds}} rounds
                  target held-out loss  {{target:F4}}  (initial {{initial:F4}}, in-process best {{best:F4}}: 90% of its improvement)
                  time to target        in-process {{inProcessToTarget:F1}} s   durable {{(durableToTarget is { } s ? s.ToString("F1", CultureInfo.InvariantCulture) + " s" : "not reached")}}
                  ratio                 {{(ratio is { } q ? q.ToString("F2", CultureInfo.InvariantCulture) : "-")}}  (target <= {{Target:F1}}: {{(met ? "met" : "NOT met")}})
                  durable outcome       {{final.Outcome.Reason}}
                """));
        }

        // Stop the worker before deleting its task hub: its partition manager needs the hub's tables to shut down.
        await worker.StopAsync().ConfigureAwait(false);
        await client.DeleteTaskHubAsync().ConfigureAwait(false);
        return 0;
    }
}
