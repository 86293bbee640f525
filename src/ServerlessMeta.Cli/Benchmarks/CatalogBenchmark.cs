using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Learning.Training;

namespace ServerlessMeta.Cli.Benchmarks;

/// <summary>
/// <c>smeta bench catalog</c>: N-way K-shot classification on held-out categories of the synthetic
/// catalogue, beside two baselines on the same episodes.
/// </summary>
internal static class CatalogBenchmark
{
    public const int DefaultIterations = 1_500;
    public const int MetaBatchSize = 8;
    public const int TrainingQueriesPerClass = 5;
    public const int EvaluationQueriesPerClass = 15;
    public const int ValidationEpisodes = 100;
    public const int ValidationInterval = 100;
    public const int TestEpisodes = 600;
    public const int HiddenWidth = 64;

    public static Command CreateCommand()
    {
        var names = MetaAlgorithms.All.Select(a => a.ToWireName()).ToArray();
        var algorithm = BenchmarkOptions.Algorithm("protonet", names);
        var ways = new Option<int>("--ways") { Description = "Labels per episode (2 to 50).", DefaultValueFactory = _ => 5 };
        ways.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 2 or > 50)
            {
                r.AddError("--ways must be between 2 and 50.");
            }
        });
        var shots = new Option<int>("--shots") { Description = "Support examples per label.", DefaultValueFactory = _ => 1 };
        shots.Positive();
        var iterations = BenchmarkOptions.Iterations(DefaultIterations);
        iterations.Positive();
        var preset = new Option<string>("--preset")
        {
            Description = "standard: many categories, numeric + text; sparse: few training categories, sparse text only.",
            DefaultValueFactory = _ => "standard",
        };
        preset.AcceptOnlyFromAmong("standard", "sparse");
        var seed = BenchmarkOptions.Seed();
        var threads = BenchmarkOptions.Threads();
        threads.Positive();
        var json = BenchmarkOptions.Json();
        var innerLearningRate = BenchmarkOptions.InnerLearningRate();
        var innerSteps = BenchmarkOptions.InnerSteps();
        var save = BenchmarkOptions.Save();
        var command = new Command("catalog", "Meta-train on the synthetic catalogue; report accuracy on held-out categories beside a from-scratch and a nearest-centroid baseline.")
        {
            algorithm, ways, shots, iterations, preset, seed, threads, json, innerLearningRate, innerSteps, save,
        };
        command.SetAction(parse => Run(
            BenchmarkOptions.ParseAlgorithm(parse.GetValue(algorithm)!),
            parse.GetValue(ways),
            parse.GetValue(shots),
            parse.GetValue(iterations),
            parse.GetValue(preset)!,
            parse.GetValue(seed),
            parse.GetValue(threads),
            parse.GetValue(json),
            parse.GetValue(innerLearningRate),
            parse.GetValue(innerSteps),
            parse.GetValue(save)));
        return command;
    }

    public static int Run(MetaAlgorithm algorithm, int ways, int shots, int iterations, string preset, long seed, int threads, bool json, double? innerLearningRate = null, int? innerSteps = null, FileInfo? save = null)
    {
        TorchSetup.ForTaskParallelism();
        var total = Stopwatch.StartNew();
        var catalogOptions = preset == "sparse" ? SyntheticCatalogOptions.Sparse : SyntheticCatalogOptions.Standard;
        var catalog = new SyntheticCatalog(catalogOptions, seed);
        var featurizerOptions = catalogOptions.CreateFeaturizerOptions();
        var featurizer = new Featurizer(featurizerOptions);
        LabelledCategory[] Featurize(IReadOnlyList<SyntheticCategory> split) => [.. split.Select(c => SyntheticCatalog.Featurize(c, featurizer))];
        var train = new EpisodeSampler(Featurize(catalog.Train), ways, shots, TrainingQueriesPerClass);
        var validation = TaskSampling.SampleEvaluation(new EpisodeSampler(Featurize(catalog.Validation), ways, shots, EvaluationQueriesPerClass), seed + 17, ValidationEpisodes);
        var test = TaskSampling.SampleEvaluation(new EpisodeSampler(Featurize(catalog.Test), ways, shots, EvaluationQueriesPerClass), seed + 31, TestEpisodes);

        var config = new ModelConfig { TaskKind = TaskKind.Classification, InputDimension = featurizer.OutputDimension, HiddenWidths = [HiddenWidth] };
        var hyperparameters = BenchmarkOptions.Hyperparameters(algorithm, TaskKind.Classification, innerLearningRate, innerSteps);
        using var model = MetaModel.Create(algorithm, config, hyperparameters, featurizerOptions, seed);
        var lastReport = Stopwatch.StartNew();
        var result = MetaTrainer.Train(
            model,
            train,
            new TrainingOptions { Iterations = iterations, MetaBatchSize = MetaBatchSize, Seed = seed, Threads = threads, ValidationInterval = ValidationInterval },
            m => Evaluator.ClassificationAccuracy(m, validation, maxParallelism: threads).Average(),
            p =>
            {
                if (!json && (p.ValidationScore is not null || lastReport.Elapsed.TotalSeconds >= 10))
                {
                    lastReport.Restart();
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  iteration {p.Iteration}/{p.Iterations}  meta-loss {p.MetaLoss:F3}  validation {(p.ValidationScore is { } v ? v.ToString("F3", CultureInfo.InvariantCulture) : "-")}  best {p.BestValidationScore:F3}"));
                }
            });

        BenchmarkOptions.SaveModel(model, save, new Dictionary<string, string>
        {
            ["benchmark"] = "catalog",
            ["preset"] = preset,
            ["ways"] = ways.ToString(CultureInfo.InvariantCulture),
            ["shots"] = shots.ToString(CultureInfo.InvariantCulture),
            ["bestIteration"] = result.BestIteration.ToString(CultureInfo.InvariantCulture),
            ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
        });
        var accuracy = MeanEstimate.Of(Evaluator.ClassificationAccuracy(model, test, maxParallelism: threads));
        var scratchScores = new double[test.Count];
        Parallel.For(0, test.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, i => scratchScores[i] = Baselines.ScratchAccuracy(test[i], HiddenWidth, seed + i));
        var scratch = MeanEstimate.Of(scratchScores);
        var centroid = MeanEstimate.Of([.. test.Select(Baselines.NearestCentroidAccuracy)]);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                benchmark = "catalog",
                algorithm = algorithm.ToWireName(),
                ways,
                shots,
                iterations,
                accuracy = Math.Round(accuracy.Mean, 4),
                ci95 = Math.Round(accuracy.Ci95, 4),
                baseline_scratch = Math.Round(scratch.Mean, 4),
                baseline_centroid = Math.Round(centroid.Mean, 4),
                ms_per_iteration = Math.Round(result.MedianMsPerIteration, 3),
                preset,
                inner_lr = hyperparameters.InnerLearningRate,
                inner_steps = hyperparameters.InnerSteps,
                best_iteration = result.BestIteration,
                seed,
                threads,
                seconds = Math.Round(total.Elapsed.TotalSeconds, 1),
            }));
        }
        else
        {
            var beats = accuracy.Mean > scratch.Mean && accuracy.Mean > centroid.Mean;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $$"""
                catalog  algorithm={{algorithm.ToWireName()}}  {{ways}}-way {{shots}}-shot  preset={{preset}}  iterations={{iterations}} (best at {{result.BestIteration}})  seed={{seed}}  threads={{threads}}
                  held-out accuracy          {{accuracy.Mean:P1}} ± {{accuracy.Ci95:P1}}   ({{TestEpisodes}} episodes from {{catalogOptions.TestCategories}} unseen categories)
                  baseline: from scratch     {{scratch.Mean:P1}} ± {{scratch.Ci95:P1}}
                  baseline: nearest centroid {{centroid.Mean:P1}} ± {{centroid.Ci95:P1}}
                  beats both baselines: {{(beats ? "yes" : "NO")}}
                  median ms per meta-iteration  {{result.MedianMsPerIteration:F2}}   total {{total.Elapsed.TotalSeconds:F0}} s
                """));
        }

        return 0;
    }
}
