using System.Globalization;
using System.Text;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;

namespace ServerlessMeta.Learning.Tasks;

/// <summary>Settings of the synthetic product catalogue.</summary>
public sealed record SyntheticCatalogOptions
{
    /// <summary>Categories used for meta-training.</summary>
    public int TrainCategories { get; init; } = 40;

    /// <summary>Categories used only to choose the best checkpoint (early stopping).</summary>
    public int ValidationCategories { get; init; } = 10;

    /// <summary>Categories used only for the reported figures.</summary>
    public int TestCategories { get; init; } = 20;

    public int MinLabels { get; init; } = 5;

    public int MaxLabels { get; init; } = 10;

    public int ItemsPerLabel { get; init; } = 30;

    /// <summary>Dimension of the latent "meaning" space shared by every category.</summary>
    public int LatentDimension { get; init; } = 8;

    /// <summary>Numeric features per item (0: text only).</summary>
    public int NumericFeatures { get; init; } = 16;

    /// <summary>Label-irrelevant factors (price level, size, brand...) that move numeric features strongly.</summary>
    public int NuisanceFactors { get; init; } = 6;

    public double NuisanceScale { get; init; } = 2.5;

    /// <summary>Spread of items around their label's centre in latent space.</summary>
    public double WithinLabelSpread { get; init; } = 0.7;

    public bool Text { get; init; } = true;

    /// <summary>Topic words per latent direction and sign.</summary>
    public int TopicWordsPerDirection { get; init; } = 6;

    /// <summary>Label-irrelevant filler words shared by all categories.</summary>
    public int FillerVocabulary { get; init; } = 150;

    public int WordsPerItem { get; init; } = 8;

    /// <summary>Probability that a word is filler rather than topical.</summary>
    public double FillerProbability { get; init; } = 0.55;

    /// <summary>Hashed text buckets of the featurizer built for this catalogue.</summary>
    public int TextDimension { get; init; } = 256;

    /// <summary>The default catalogue: many categories, numeric and text features with strong shared nuisance.</summary>
    public static SyntheticCatalogOptions Standard { get; } = new();

    /// <summary>
    /// What real young catalogues look like: few training categories and sparse, high-dimensional text
    /// only, where a learned embedding easily overfits the training labels.
    /// </summary>
    public static SyntheticCatalogOptions Sparse { get; } = new()
    {
        TrainCategories = 6,
        ValidationCategories = 4,
        TestCategories = 20,
        NumericFeatures = 0,
        NuisanceFactors = 0,
        LatentDimension = 12,
        WithinLabelSpread = 0.6,
        TopicWordsPerDirection = 5,
        FillerVocabulary = 300,
        WordsPerItem = 10,
        FillerProbability = 0.45,
        TextDimension = 512,
    };

    public FeaturizerOptions CreateFeaturizerOptions() => new()
    {
        NumericDimension = NumericFeatures,
        TextDimension = Text ? TextDimension : 0,
    };
}

/// <summary>One generated category with its labelled items.</summary>
public sealed record SyntheticCategory(string CategoryId, IReadOnlyList<string> Labels, IReadOnlyList<LabelledItem> Items);

/// <summary>
/// A synthetic product catalogue with structure shared across categories, so meta-learning has
/// something to learn that nearest centroid on raw features does not know:
/// <list type="bullet">
/// <item>every item has a latent meaning z = centre(label) + spread·ε in a space shared by all categories;</item>
/// <item>numeric features are P·z plus label-irrelevant nuisance N·n with large variance (N shared too),
/// so raw distances are dominated by nuisance, which a learned metric can discount;</item>
/// <item>text mixes topic words (chosen by z's strongest directions) with shared filler words.</item>
/// </list>
/// Labels are category-specific ("{category}/{label}"), so held-out categories never share a label
/// with training ones. Deterministic from its seed.
/// </summary>
public sealed class SyntheticCatalog
{
    private static readonly string[] Syllables =
    [
        "ka", "lo", "mi", "ra", "ven", "to", "sa", "qui", "dor", "el", "fa", "nu", "pri", "zo", "ta", "bel",
        "ju", "ro", "sen", "ix", "mar", "tel", "po", "lin", "ga", "vi", "cor", "da", "ne", "sul", "ha", "tri",
    ];

    private readonly SyntheticCatalogOptions _options;
    private readonly DeterministicRandom _structureRandom;
    private readonly double[,] _projection;
    private readonly double[,] _nuisance;
    private readonly string[][] _topicWords;
    private readonly string[] _fillerWords;

    public SyntheticCatalog(SyntheticCatalogOptions options, long seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        Seed = seed;
        _structureRandom = DeterministicRandom.Derive(seed, 0);
        var l = options.LatentDimension;
        _projection = Gaussian(options.NumericFeatures, l, 1.0 / Math.Sqrt(l));
        _nuisance = Gaussian(options.NumericFeatures, options.NuisanceFactors, 1.0 / Math.Sqrt(Math.Max(1, options.NuisanceFactors)));
        var used = new HashSet<string>(StringComparer.Ordinal);
        _topicWords = [.. Enumerable.Range(0, 2 * l).Select(_ => Enumerable.Range(0, options.TopicWordsPerDirection).Select(_ => NewWord(used)).ToArray())];
        _fillerWords = [.. Enumerable.Range(0, options.FillerVocabulary).Select(_ => NewWord(used))];
    }

    public long Seed { get; }

    public SyntheticCatalogOptions Options => _options;

    public IReadOnlyList<SyntheticCategory> Train => Generate("train", _options.TrainCategories);

    public IReadOnlyList<SyntheticCategory> Validation => Generate("val", _options.ValidationCategories);

    public IReadOnlyList<SyntheticCategory> Test => Generate("test", _options.TestCategories);

    /// <summary>Categories of one split ("train", "val", "test" or any other name for extra ones).</summary>
    public IReadOnlyList<SyntheticCategory> Generate(string split, int count)
    {
        ArgumentException.ThrowIfNullOrEmpty(split);
        return [.. Enumerable.Range(0, count).Select(i => GenerateCategory(split, i))];
    }

    public SyntheticCategory GenerateCategory(string split, int index)
    {
        var random = DeterministicRandom.Derive(Seed, split.Aggregate(17L, (h, c) => (h * 31) + c), index);
        var id = string.Create(CultureInfo.InvariantCulture, $"{split}-{index:D3}");
        var labelCount = _options.MinLabels + random.Next(_options.MaxLabels - _options.MinLabels + 1);
        var labels = new List<string>(labelCount);
        var items = new List<LabelledItem>(labelCount * _options.ItemsPerLabel);
        for (var c = 0; c < labelCount; c++)
        {
            var label = string.Create(CultureInfo.InvariantCulture, $"{id}/label-{c:D2}");
            labels.Add(label);
            var centre = Enumerable.Range(0, _options.LatentDimension).Select(_ => random.NextGaussian()).ToArray();
            for (var n = 0; n < _options.ItemsPerLabel; n++)
            {
                var z = centre.Select(v => v + (_options.WithinLabelSpread * random.NextGaussian())).ToArray();
                items.Add(new LabelledItem(NumericFeatures(z, random), _options.Text ? Text(z, random) : null, label));
            }
        }

        return new SyntheticCategory(id, labels, items);
    }

    /// <summary>Featurizes a category into the episode sampler's input.</summary>
    public static LabelledCategory Featurize(SyntheticCategory category, Featurizer featurizer)
    {
        ArgumentNullException.ThrowIfNull(category);
        ArgumentNullException.ThrowIfNull(featurizer);
        var byLabel = category.Items
            .GroupBy(i => i.Label, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<float[]>)[.. g.Select(i => featurizer.Featurize(i.Item))], StringComparer.Ordinal);
        return new LabelledCategory(category.CategoryId, featurizer.OutputDimension, byLabel);
    }

    private float[]? NumericFeatures(double[] z, DeterministicRandom random)
    {
        if (_options.NumericFeatures == 0)
        {
            return null;
        }

        var nuisance = Enumerable.Range(0, _options.NuisanceFactors).Select(_ => _options.NuisanceScale * random.NextGaussian()).ToArray();
        var x = new float[_options.NumericFeatures];
        for (var i = 0; i < x.Length; i++)
        {
            double v = 0;
            for (var j = 0; j < z.Length; j++)
            {
                v += _projection[i, j] * z[j];
            }

            for (var j = 0; j < nuisance.Length; j++)
            {
                v += _nuisance[i, j] * nuisance[j];
            }

            x[i] = (float)(v + (0.1 * random.NextGaussian()));
        }

        return x;
    }

    private string Text(double[] z, DeterministicRandom random)
    {
        var weights = z.Select(v => v * v * v * v).ToArray();
        var total = weights.Sum();
        var words = new List<string>(_options.WordsPerItem);
        for (var w = 0; w < _options.WordsPerItem; w++)
        {
            if (random.NextDouble() < _options.FillerProbability)
            {
                // Zipf-like: low indices are much more frequent.
                var index = (int)(_fillerWords.Length * Math.Pow(random.NextDouble(), 2.5));
                words.Add(_fillerWords[Math.Min(index, _fillerWords.Length - 1)]);
                continue;
            }

            var pick = random.NextDouble() * total;
            var direction = 0;
            while (direction < z.Length - 1 && pick > weights[direction])
            {
                pick -= weights[direction];
                direction++;
            }

            var list = _topicWords[(2 * direction) + (z[direction] >= 0 ? 0 : 1)];
            words.Add(list[random.Next(list.Length)]);
        }

        return string.Join(' ', words);
    }

    private double[,] Gaussian(int rows, int columns, double scale)
    {
        var m = new double[rows, columns];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < columns; j++)
            {
                m[i, j] = scale * _structureRandom.NextGaussian();
            }
        }

        return m;
    }

    private string NewWord(HashSet<string> used)
    {
        while (true)
        {
            var builder = new StringBuilder();
            var syllables = 2 + _structureRandom.Next(2);
            for (var s = 0; s < syllables; s++)
            {
                builder.Append(Syllables[_structureRandom.Next(Syllables.Length)]);
            }

            var word = builder.ToString();
            if (used.Add(word))
            {
                return word;
            }
        }
    }
}
