using ServerlessMeta.Learning.Data;

namespace ServerlessMeta.Learning.Tasks;

/// <summary>
/// Samples N-way K-shot episodes from labelled examples grouped by category: a category with at
/// least N labels that each have K + Q examples, then N of those labels, then K support and Q query
/// examples of each, without overlap. The class order inside an episode is random.
/// </summary>
public sealed class EpisodeSampler : ITaskSource
{
    private readonly LabelledCategory[] _eligible;

    public EpisodeSampler(IEnumerable<LabelledCategory> categories, int ways, int shots, int queriesPerClass)
    {
        ArgumentNullException.ThrowIfNull(categories);
        if (ways is < 2 or > Limits.MaxLabels)
        {
            throw new ArgumentOutOfRangeException(nameof(ways), ways, $"ways must be between 2 and {Limits.MaxLabels}.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(shots);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(queriesPerClass);
        Ways = ways;
        Shots = shots;
        QueriesPerClass = queriesPerClass;
        var all = categories.ToArray();
        if (all.Length == 0)
        {
            throw new ArgumentException("No categories to sample episodes from.", nameof(categories));
        }

        Dimension = all[0].Dimension;
        if (all.Any(c => c.Dimension != Dimension))
        {
            throw new ArgumentException("All categories must have the same feature dimension.", nameof(categories));
        }

        _eligible = [.. all.Where(c => c.LabelsWithAtLeast(shots + queriesPerClass).Count >= ways)];
        if (_eligible.Length == 0)
        {
            throw new ArgumentException(
                $"No category has {ways} labels with at least {shots + queriesPerClass} examples each ({shots} shots + {queriesPerClass} queries).",
                nameof(categories));
        }
    }

    public int Ways { get; }

    public int Shots { get; }

    public int QueriesPerClass { get; }

    public int Dimension { get; }

    public TaskKind Kind => TaskKind.Classification;

    /// <summary>Categories that can supply an episode of this shape.</summary>
    public IReadOnlyList<LabelledCategory> EligibleCategories => _eligible;

    public Episode Sample(DeterministicRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var category = _eligible[random.Next(_eligible.Length)];
        var labels = category.LabelsWithAtLeast(Shots + QueriesPerClass);
        var chosen = random.SampleWithoutReplacement(labels.Count, Ways);
        var supportFeatures = new float[Ways * Shots * Dimension];
        var supportClasses = new int[Ways * Shots];
        var queryFeatures = new float[Ways * QueriesPerClass * Dimension];
        var queryClasses = new int[Ways * QueriesPerClass];
        for (var c = 0; c < Ways; c++)
        {
            var examples = category.ExamplesByLabel[labels[chosen[c]]];
            var picks = random.SampleWithoutReplacement(examples.Count, Shots + QueriesPerClass);
            for (var i = 0; i < Shots; i++)
            {
                var row = (c * Shots) + i;
                examples[picks[i]].CopyTo(supportFeatures, row * Dimension);
                supportClasses[row] = c;
            }

            for (var i = 0; i < QueriesPerClass; i++)
            {
                var row = (c * QueriesPerClass) + i;
                examples[picks[Shots + i]].CopyTo(queryFeatures, row * Dimension);
                queryClasses[row] = c;
            }
        }

        return new Episode(
            TaskSet.ForClassification(supportFeatures, Dimension, supportClasses),
            TaskSet.ForClassification(queryFeatures, Dimension, queryClasses),
            Ways);
    }
}
