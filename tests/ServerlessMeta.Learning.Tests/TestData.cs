using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Learning.Training;

namespace ServerlessMeta.Learning.Tests;

/// <summary>Small, fast task families and models for tests.</summary>
internal static class TestData
{
    public static readonly SyntheticCatalogOptions SmallCatalog = new()
    {
        TrainCategories = 12,
        ValidationCategories = 3,
        TestCategories = 6,
        MinLabels = 7,
        MaxLabels = 8,
        ItemsPerLabel = 16,
        TextDimension = 48,
        NumericFeatures = 8,
        NuisanceFactors = 3,
        LatentDimension = 4,
    };

    public static ModelConfig Sinusoid(int hidden = 40) => new() { TaskKind = TaskKind.Regression, InputDimension = 1, HiddenWidths = [hidden, hidden] };

    public static ModelConfig Classifier(int inputDimension, int hidden = 16) =>
        new() { TaskKind = TaskKind.Classification, InputDimension = inputDimension, HiddenWidths = [hidden] };

    public static (SyntheticCatalog Catalog, Featurizer Featurizer, LabelledCategory[] Train, LabelledCategory[] Test) Catalog(long seed = 3)
    {
        var catalog = new SyntheticCatalog(SmallCatalog, seed);
        var featurizer = new Featurizer(SmallCatalog.CreateFeaturizerOptions());
        return (catalog, featurizer,
            [.. catalog.Train.Select(c => SyntheticCatalog.Featurize(c, featurizer))],
            [.. catalog.Test.Select(c => SyntheticCatalog.Featurize(c, featurizer))]);
    }

    public static MetaModel SmallClassifierModel(MetaAlgorithm algorithm, Featurizer featurizer, long seed = 1) =>
        MetaModel.Create(algorithm, Classifier(featurizer.OutputDimension), featurizer: featurizer.Options, seed: seed);

    public static Episode RandomClassificationEpisode(int ways, int shots, int queries, int dimension, long seed)
    {
        var random = new DeterministicRandom((ulong)seed);
        var centres = Enumerable.Range(0, ways).Select(_ => Enumerable.Range(0, dimension).Select(_ => (float)random.NextGaussian()).ToArray()).ToArray();
        TaskSet Make(int perClass)
        {
            var features = new List<float>();
            var classes = new List<int>();
            for (var c = 0; c < ways; c++)
            {
                for (var i = 0; i < perClass; i++)
                {
                    features.AddRange(centres[c].Select(v => v + (0.3f * (float)random.NextGaussian())));
                    classes.Add(c);
                }
            }

            return TaskSet.ForClassification([.. features], dimension, [.. classes]);
        }

        return new Episode(Make(shots), Make(queries), ways);
    }

    public static IReadOnlyList<Episode> SinusoidTasks(int count, long seed, int shots = 10, int queries = 10) =>
        TaskSampling.SampleEvaluation(new SinusoidTaskSource(shots, queries), seed, count);

    public static float[] Flatten(MetaModel model) => [.. model.Parameters.ToData().SelectMany(p => p.Data.Values)];
}
