using System.Globalization;
using ServerlessMeta.Cli.Benchmarks;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Featurization.Text;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Learning.Training;

namespace ServerlessMeta.Cli.Serving;

/// <summary>Nearest centroid with hashed n-grams only and with the sentence encoder, on the same examples: what the encoder adds.</summary>
internal static class TextFeatureComparison
{
    /// <summary>Held-out accuracy of nearest centroid fitted on <paramref name="support"/>, with the given features.</summary>
    public static double CentroidAccuracy(FeaturizerOptions options, ITextEncoder? encoder, IReadOnlyList<LabelledItem> support, IReadOnlyList<LabelledItem> heldOut)
    {
        var featurizer = new Featurizer(options, encoder);
        var labels = support.Select(e => e.Label).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var index = labels.Select((l, i) => (l, i)).ToDictionary(p => p.l, p => p.i, StringComparer.Ordinal);
        var set = TaskSet.ForClassification(featurizer.FeaturizeMany([.. support.Select(e => e.Item)]), featurizer.OutputDimension, [.. support.Select(e => index[e.Label])]);
        var predicted = NearestCentroid.Fit(set, labels.Count).Classify(featurizer.FeaturizeMany([.. heldOut.Select(e => e.Item)]), heldOut.Count);
        return (double)predicted.Where((p, i) => labels[p] == heldOut[i].Label).Count() / heldOut.Count;
    }

    /// <summary>
    /// Nearest centroid on real public text (emojibase-data: category = emoji group, label = subgroup),
    /// 5-way 5-shot, the same episodes with hashed n-grams and with the encoder; null when the dataset is not installed.
    /// </summary>
    public static (double Hashed, double Encoder, int Episodes, int Categories)? RealText(ITextEncoder encoder, int episodes = 200, long seed = 1)
    {
        string directory;
        try
        {
            directory = RealTextData.FindEmojibase();
        }
        catch (FileNotFoundException)
        {
            return null;
        }

        var items = RealTextData.LoadEmojibase(directory);
        List<LabelledCategory> Categories(Featurizer featurizer) => RealBenchmark.Featurize(items, featurizer);

        var hashed = new EpisodeSampler(Categories(new Featurizer(FeaturizerOptions.ForText(null))), 5, 5, 5);
        var encoded = new EpisodeSampler(Categories(new Featurizer(FeaturizerOptions.ForText(encoder.Info), encoder)), 5, 5, 5);
        var hashedEpisodes = TaskSampling.SampleEvaluation(hashed, seed, episodes);
        var encodedEpisodes = TaskSampling.SampleEvaluation(encoded, seed, episodes);
        return (hashedEpisodes.Average(Baselines.NearestCentroidAccuracy), encodedEpisodes.Average(Baselines.NearestCentroidAccuracy), episodes, encoded.EligibleCategories.Count);
    }

    public static string Percent(double value) => TextOutput.Percent(value);
}
