using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ServerlessMeta.Learning.Adaptation;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Featurization.Text;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Learning.Training;

namespace ServerlessMeta.Cli.Benchmarks;

/// <summary>
/// <c>smeta bench real</c>: N-way K-shot accuracy on a real, public text collection, split by category:
/// the categories are dealt into folds; each fold's categories are tested after meta-training on the other
/// categories (one of which is held out for early stopping and the serving gate), so no test category or
/// label is ever trained on. Every method is scored on the same episodes: nearest centroid on hashed
/// n-grams, nearest centroid on the encoder features (embedding + hashed n-grams), each algorithm's
/// meta-model, and what the category service would store (its serving gate and per-category
/// cross-validated choice, the same code).
/// </summary>
internal static class RealBenchmark
{
    public const int MetaBatchSize = 8;
    public const int TrainingQueriesPerClass = 5;
    public const int ValidationEpisodes = 100;
    public const int HiddenWidth = 64;

    public static Command CreateCommand()
    {
        var dataset = new Option<string>("--dataset") { Description = "emojibase (npm emojibase-data, pinned in package.json) or fortunes (apt-get install fortunes).", DefaultValueFactory = _ => "emojibase" };
        dataset.AcceptOnlyFromAmong(RealTextData.Names);
        var data = new Option<string?>("--data") { Description = "Where the dataset is (default: node_modules/emojibase-data/en, or /usr/share/games/fortunes)." };
        var ways = new Option<int>("--ways") { Description = "Labels per episode.", DefaultValueFactory = _ => 5 };
        var shots = new Option<int>("--shots") { Description = "Support examples per label.", DefaultValueFactory = _ => 5 };
        shots.Positive();
        var queries = new Option<int>("--queries") { Description = "Query examples per label in test episodes.", DefaultValueFactory = _ => 5 };
        queries.Positive();
        var algorithms = new Option<string[]>("--algorithm")
        {
            Description = "Algorithms to meta-train (repeatable; default: all six).",
            AllowMultipleArgumentsPerToken = true,
            DefaultValueFactory = _ => [.. MetaAlgorithms.All.Select(a => a.ToWireName())],
        };
        algorithms.AcceptOnlyFromAmong([.. MetaAlgorithms.All.Select(a => a.ToWireName())]);
        var service = new Option<string>("--service-algorithm") { Description = "The algorithm the service is pretrained with (its meta-model is served only if it beats nearest centroid on the held-out validation categories).", DefaultValueFactory = _ => "protonet" };
        service.AcceptOnlyFromAmong([.. MetaAlgorithms.All.Select(a => a.ToWireName())]);
        var iterations = BenchmarkOptions.Iterations(400);
        iterations.Positive();
        var folds = new Option<int>("--folds") { Description = "Category folds (each fold's categories are tested once).", DefaultValueFactory = _ => 4 };
        folds.Positive();
        var episodes = new Option<int>("--episodes") { Description = "Test episodes per fold.", DefaultValueFactory = _ => 150 };
        episodes.Positive();
        var hashedWeight = new Option<float>("--hashed-weight") { Description = "Weight of the hashed n-grams beside the embedding.", DefaultValueFactory = _ => FeaturizerOptions.DefaultHashedWeightWithEncoder };
        var outerLearningRate = new Option<double?>("--outer-lr") { Description = "Outer (Adam) learning rate of meta-training (default: the algorithm's)." };
        var innerLearningRate = BenchmarkOptions.InnerLearningRate();
        var seed = BenchmarkOptions.Seed();
        var threads = BenchmarkOptions.Threads();
        threads.Positive();
        var json = BenchmarkOptions.Json();
        var command = new Command("real", "Few-shot accuracy on a real public text dataset, split by category: nearest centroid on hashed n-grams and on the encoder, each meta-model, and the service.")
        {
            dataset, data, ways, shots, queries, algorithms, service, iterations, folds, episodes, hashedWeight, outerLearningRate, innerLearningRate, seed, threads, json,
        };
        command.SetAction(parse => Run(new Settings(
            parse.GetValue(dataset)!,
            parse.GetValue(data),
            parse.GetValue(ways),
            parse.GetValue(shots),
            parse.GetValue(queries),
            [.. parse.GetValue(algorithms)!.Distinct().Select(BenchmarkOptions.ParseAlgorithm)],
            BenchmarkOptions.ParseAlgorithm(parse.GetValue(service)!),
            parse.GetValue(iterations),
            parse.GetValue(folds),
            parse.GetValue(episodes),
            parse.GetValue(hashedWeight),
            parse.GetValue(outerLearningRate),
            parse.GetValue(innerLearningRate),
            parse.GetValue(seed),
            parse.GetValue(threads),
            parse.GetValue(json))));
        return command;
    }

    internal sealed record Settings(
        string Dataset, string? DataPath, int Ways, int Shots, int Queries, IReadOnlyList<MetaAlgorithm> Algorithms, MetaAlgorithm ServiceAlgorithm,
        int Iterations, int Folds, int Episodes, float HashedWeight, double? OuterLearningRate, double? InnerLearningRate, long Seed, int Threads, bool Json)
    {
        public MetaLearningOptions Hyperparameters(MetaAlgorithm algorithm)
        {
            var options = MetaLearningOptions.DefaultsFor(algorithm, TaskKind.Classification);
            if (OuterLearningRate is { } outer)
            {
                options = options with { OuterLearningRate = outer };
            }

            return InnerLearningRate is { } inner ? options with { InnerLearningRate = inner } : options;
        }
    }

    public static int Run(Settings settings)
    {
        TorchSetup.ForTaskParallelism();
        var total = Stopwatch.StartNew();
        var items = RealTextData.Load(settings.Dataset, settings.DataPath);
        using var encoder = MiniLmTextEncoder.Load(new TextEncoderOptions { Threads = Math.Max(1, settings.Threads) });
        var encoderOptions = FeaturizerOptions.ForText(encoder.Info) with { HashedWeight = settings.HashedWeight };
        var hashedOptions = FeaturizerOptions.ForText(null);
        var clock = Stopwatch.StartNew();
        var encoded = Featurize(items, new Featurizer(encoderOptions, encoder));
        var embedSeconds = clock.Elapsed.TotalSeconds;
        var hashed = Featurize(items, new Featurizer(hashedOptions));
        Progress(settings, string.Create(CultureInfo.InvariantCulture, $"  {settings.Dataset}: {items.Count} items, {encoded.Count} categories, {items.Select(i => i.Category + "/" + i.Label).Distinct().Count()} labels; embedded in {embedSeconds:F1} s ({items.Count / embedSeconds:F0} texts/s)"));

        // Only categories that can supply an episode of this shape are dealt into folds; the others always train.
        var minimum = settings.Shots + settings.Queries;
        var order = encoded.Where(c => c.LabelsWithAtLeast(minimum).Count >= settings.Ways)
            .Select(c => c.CategoryId).OrderBy(id => Hash(settings.Seed, id), StringComparer.Ordinal).ToList();
        var scores = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        void Add(string method, IEnumerable<double> values)
        {
            if (!scores.TryGetValue(method, out var list))
            {
                scores[method] = list = [];
            }

            list.AddRange(values);
        }

        var foldsRun = 0;
        var served = 0;
        for (var fold = 0; fold < settings.Folds; fold++)
        {
            var testIds = order.Where((_, i) => i % settings.Folds == fold).ToHashSet(StringComparer.Ordinal);
            var rest = order.Where(id => !testIds.Contains(id)).ToList();
            // One held-out category for early stopping and the serving gate, rotating with the fold.
            var validationIds = rest.Skip(fold % rest.Count).Take(1).ToHashSet(StringComparer.Ordinal);
            var trainIds = encoded.Select(c => c.CategoryId).Where(id => !testIds.Contains(id) && !validationIds.Contains(id)).ToHashSet(StringComparer.Ordinal);
            var test = Episodes(encoded, hashed, testIds, settings, settings.Queries, settings.Seed + (1000 * fold), settings.Episodes);
            var validation = Episodes(encoded, hashed, validationIds, settings, settings.Queries, settings.Seed + (1000 * fold) + 500, ValidationEpisodes);
            if (test is null || validation is null)
            {
                Progress(settings, $"  fold {fold + 1}: skipped (no category with {settings.Ways} labels of {settings.Shots + settings.Queries}+ items among its test or validation categories)");
                continue;
            }

            foldsRun++;
            Add("centroid-hashed", test.Value.Hashed.Select(Baselines.NearestCentroidAccuracy));
            var centroid = test.Value.Encoded.Select(Baselines.NearestCentroidAccuracy).ToList();
            Add("centroid-encoder", centroid);
            var validationCentroid = validation.Value.Encoded.Select(Baselines.NearestCentroidAccuracy).Average();
            var train = new EpisodeSampler(encoded.Where(c => trainIds.Contains(c.CategoryId)), settings.Ways, settings.Shots, TrainingQueriesPerClass);
            Progress(settings, string.Create(CultureInfo.InvariantCulture,
                $"  fold {fold + 1}/{settings.Folds}: test {string.Join(", ", testIds)}; validation {string.Join(", ", validationIds)}; centroid-encoder {centroid.Average():P1}, on validation {validationCentroid:P1}"));
            foreach (var algorithm in settings.Algorithms.Union([settings.ServiceAlgorithm]))
            {
                var config = new ModelConfig { TaskKind = TaskKind.Classification, InputDimension = encoderOptions.OutputDimension, HiddenWidths = [HiddenWidth] };
                using var model = MetaModel.Create(algorithm, config, settings.Hyperparameters(algorithm), encoderOptions, settings.Seed);
                var trained = MetaTrainer.Train(
                    model,
                    train,
                    new TrainingOptions { Iterations = settings.Iterations, MetaBatchSize = MetaBatchSize, Seed = settings.Seed + fold, Threads = settings.Threads, ValidationInterval = 10 },
                    m => Evaluator.ClassificationAccuracy(m, validation.Value.Encoded, maxParallelism: settings.Threads).Average());
                var accuracy = Evaluator.ClassificationAccuracy(model, test.Value.Encoded, maxParallelism: settings.Threads);
                if (settings.Algorithms.Contains(algorithm))
                {
                    Add(algorithm.ToWireName(), accuracy);
                }

                Progress(settings, string.Create(CultureInfo.InvariantCulture,
                    $"    {algorithm.ToWireName(),-11} test {accuracy.Average():P1}  validation {trained.BestValidationScore:P1} (best at iteration {trained.BestIteration} of {settings.Iterations})"));
                if (algorithm == settings.ServiceAlgorithm)
                {
                    // The service's gate (PretrainingEvaluation.BeatsBaseline): a meta-model is served only when it beats
                    // nearest centroid on held-out categories by more than chance would.
                    var onValidation = Evaluator.ClassificationAccuracy(model, validation.Value.Encoded, maxParallelism: settings.Threads);
                    var advantage = MeanEstimate.Of([.. onValidation.Select((a, i) => a - Baselines.NearestCentroidAccuracy(validation.Value.Encoded[i]))]);
                    var gate = Application.Pretraining.PretrainingEvaluation.BeatsBaseline(new Application.EvaluationResult(
                        trained.BestIteration, Application.EvaluationSplit.Validation, onValidation.Average(), 0, validationCentroid, onValidation.Length, advantage.Ci95));
                    served += gate ? 1 : 0;
                    Add("service", ServiceAccuracy(gate ? model : null, algorithm, encoderOptions, test.Value.Encoded, settings.Threads));
                }
            }
        }

        if (foldsRun == 0)
        {
            Console.Error.WriteLine($"No fold could be evaluated: the dataset has no category with {settings.Ways} labels of {settings.Shots + settings.Queries}+ items. Try fewer --ways, --shots or --queries.");
            return 1;
        }

        foreach (var (method, values) in scores)
        {
            var estimate = MeanEstimate.Of(values);
            if (settings.Json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["benchmark"] = "real",
                    ["dataset"] = settings.Dataset,
                    ["ways"] = settings.Ways,
                    ["shots"] = settings.Shots,
                    ["method"] = method,
                    ["accuracy"] = Math.Round(estimate.Mean, 4),
                    ["ci95"] = Math.Round(estimate.Ci95, 4),
                    ["episodes"] = values.Count,
                    ["folds"] = foldsRun,
                    ["encoder"] = encoder.Info.Name,
                    ["hashed_weight"] = settings.HashedWeight,
                    ["iterations"] = settings.Iterations,
                    ["outer_lr"] = settings.OuterLearningRate,
                    ["served_folds"] = served,
                    ["seed"] = settings.Seed,
                }));
            }
            else
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{settings.Dataset,-10} {settings.Ways}-way {settings.Shots}-shot  {method,-17} {estimate.Mean:P1} ± {estimate.Ci95:P1}  ({values.Count} episodes, {foldsRun} folds)"));
            }
        }

        Progress(settings, string.Create(CultureInfo.InvariantCulture, $"  the service's meta-model passed the gate in {served} of {foldsRun} folds; total {total.Elapsed.TotalSeconds:F0} s"));
        return 0;
    }

    /// <summary>
    /// What the category service stores for each episode's support set and then predicts for its queries:
    /// the served meta-model (or, when none passed the gate, a freshly initialised model of the same
    /// algorithm) adapted and checked against nearest centroid by cross-validation.
    /// </summary>
    private static double[] ServiceAccuracy(MetaModel? served, MetaAlgorithm algorithm, FeaturizerOptions featurizer, IReadOnlyList<Episode> episodes, int threads)
    {
        using var scratch = served is null
            ? MetaModel.Create(algorithm, new ModelConfig { TaskKind = TaskKind.Classification, InputDimension = featurizer.OutputDimension, HiddenWidths = [HiddenWidth] }, MetaLearningOptions.DefaultsFor(algorithm, TaskKind.Classification), featurizer)
            : null;
        var model = served ?? scratch!;
        var results = new double[episodes.Count];
        Parallel.For(0, episodes.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, i =>
        {
            var episode = episodes[i];
            var labels = Enumerable.Range(0, episode.Ways).Select(c => c.ToString(CultureInfo.InvariantCulture)).ToList();
            var choice = CrossValidatedAdaptation.Choose(model, episode.Support, labels, new AdaptationOptions());
            using var adapted = choice.Model;
            results[i] = Evaluator.Accuracy(adapted.Predict(episode.Query.Features, episode.Query.Count), episode.Query.Classes!, episode.Ways);
        });
        return results;
    }

    private static (IReadOnlyList<Episode> Encoded, IReadOnlyList<Episode> Hashed)? Episodes(
        IReadOnlyList<LabelledCategory> encoded, IReadOnlyList<LabelledCategory> hashed, HashSet<string> ids, Settings settings, int queries, long seed, int count)
    {
        // The two feature spaces hold the same categories, labels and items in the same order, so one seed draws the same episodes.
        var encodedCategories = encoded.Where(c => ids.Contains(c.CategoryId)).ToList();
        var hashedCategories = hashed.Where(c => ids.Contains(c.CategoryId)).ToList();
        if (!encodedCategories.Any(c => c.LabelsWithAtLeast(settings.Shots + queries).Count >= settings.Ways))
        {
            return null;
        }

        return (
            TaskSampling.SampleEvaluation(new EpisodeSampler(encodedCategories, settings.Ways, settings.Shots, queries), seed, count),
            TaskSampling.SampleEvaluation(new EpisodeSampler(hashedCategories, settings.Ways, settings.Shots, queries), seed, count));
    }

    /// <summary>The items featurized in one call and grouped by category and label, in ordinal order.</summary>
    internal static List<LabelledCategory> Featurize(IReadOnlyList<RealTextItem> items, Featurizer featurizer)
    {
        var vectors = featurizer.FeaturizeMany([.. items.Select(i => new CatalogItem(null, i.Text))]);
        var d = featurizer.OutputDimension;
        return [.. items.Select((item, index) => (item, index))
            .GroupBy(x => x.item.Category, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new LabelledCategory(g.Key, d, g.GroupBy(x => x.item.Label, StringComparer.Ordinal)
                .ToDictionary(l => l.Key, l => (IReadOnlyList<float[]>)[.. l.Select(x => vectors.AsSpan(x.index * d, d).ToArray())], StringComparer.Ordinal)))];
    }

    private static void Progress(Settings settings, string line)
    {
        _ = settings;
        Console.Error.WriteLine(line);
    }

    private static string Hash(long seed, string id) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(seed.ToString(CultureInfo.InvariantCulture) + "\n" + id)));
}
