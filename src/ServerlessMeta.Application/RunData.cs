using System.Security.Cryptography;
using System.Text;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Application;

/// <summary>
/// A run's featurized data as of its snapshot, split deterministically into train, validation and test
/// categories. Only <see cref="Train"/> is ever sampled for training.
/// </summary>
public sealed class RunData
{
    internal RunData(string snapshotId, FeaturizerOptions featurizer, IReadOnlyList<LabelledCategory> train, IReadOnlyList<LabelledCategory> validation, IReadOnlyList<LabelledCategory> test)
    {
        SnapshotId = snapshotId;
        Featurizer = featurizer;
        Train = train;
        Validation = validation;
        Test = test;
    }

    public string SnapshotId { get; }

    public FeaturizerOptions Featurizer { get; }

    public IReadOnlyList<LabelledCategory> Train { get; }

    public IReadOnlyList<LabelledCategory> Validation { get; }

    public IReadOnlyList<LabelledCategory> Test { get; }

    /// <summary>The training task source of a plan (the same in every process).</summary>
    public EpisodeSampler TrainingSampler(PretrainingPlan plan) => new(Train, plan.Ways, plan.Shots, plan.QueriesPerClass);

    /// <summary>
    /// Orders categories by SHA-256 of (seed, id) and takes the first ones as validation, the next as test:
    /// deterministic, independent of insertion order, and disjoint from training.
    /// </summary>
    public static (List<T> Train, List<T> Validation, List<T> Test) Split<T>(IReadOnlyList<T> categories, Func<T, string> id, long seed, double validationFraction, double testFraction)
    {
        ArgumentNullException.ThrowIfNull(categories);
        ArgumentNullException.ThrowIfNull(id);
        var ordered = categories.OrderBy(c => Hash(seed, id(c)), StringComparer.Ordinal).ThenBy(id, StringComparer.Ordinal).ToList();
        var n = ordered.Count;
        var validation = Math.Max(1, (int)Math.Round(n * validationFraction));
        var test = Math.Max(1, (int)Math.Round(n * testFraction));
        if (n - validation - test < 1)
        {
            throw new InvalidOperationException($"{n} categories are too few to hold out {validation} for validation and {test} for test and still train on one.");
        }

        static List<T> ById(IEnumerable<T> items, Func<T, string> id) => [.. items.OrderBy(id, StringComparer.Ordinal)];
        return (ById(ordered.Skip(validation + test), id), ById(ordered.Take(validation), id), ById(ordered.Skip(validation).Take(test), id));
    }

    private static string Hash(long seed, string id) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(seed.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n" + id)));
}
