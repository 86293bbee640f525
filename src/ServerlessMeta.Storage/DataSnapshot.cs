namespace ServerlessMeta.Storage;

/// <summary>
/// The labelled data of every category at one moment, for pretraining lineage. Datasets are append-only
/// and each part's committed length only grows, so a snapshot pins exact bytes: reading through
/// <see cref="DatasetStore.ReadExamplesAsync(CategorySnapshot, string?, CancellationToken)"/> returns
/// the same examples however much was appended since.
/// </summary>
/// <param name="Id">SHA-256 (hex) of every category's id and committed part lengths: equal ids, equal data.</param>
/// <param name="TakenAt">When the snapshot was taken.</param>
/// <param name="Categories">Categories with at least one example, in id order.</param>
public sealed record DataSnapshot(string Id, DateTimeOffset TakenAt, IReadOnlyList<CategorySnapshot> Categories)
{
    public long ExampleCount => Categories.Sum(c => c.ExampleCount);
}

/// <summary>One category's data in a <see cref="DataSnapshot"/>.</summary>
/// <param name="CategoryId">The category.</param>
/// <param name="ExampleCount">Examples in the snapshot.</param>
/// <param name="LabelCounts">Examples per label in the snapshot.</param>
/// <param name="PartLengths">Committed bytes of each dataset part, in part order.</param>
public sealed record CategorySnapshot(
    string CategoryId,
    long ExampleCount,
    IReadOnlyDictionary<string, long> LabelCounts,
    IReadOnlyList<long> PartLengths);

/// <summary>What an append committed.</summary>
/// <param name="Appended">Examples appended by this call.</param>
/// <param name="ExampleCount">Examples in the category after it.</param>
/// <param name="LabelCounts">Examples per label after it.</param>
public sealed record DatasetAppendResult(int Appended, long ExampleCount, IReadOnlyDictionary<string, long> LabelCounts);

/// <summary>What one orphan cleanup pass did.</summary>
/// <param name="BlobsScanned">Model blobs looked at under categories/ and meta/.</param>
/// <param name="DeletedBlobs">Orphans deleted (no metadata row, older than the grace period).</param>
/// <param name="OrphansWithinGracePeriod">Blobs without a row yet too young to delete (possibly a write in progress).</param>
/// <param name="RepairedCategories">Categories whose latest/serving pointer lagged behind their rows and was moved forward.</param>
public sealed record OrphanCleanupResult(
    int BlobsScanned,
    IReadOnlyList<string> DeletedBlobs,
    int OrphansWithinGracePeriod,
    IReadOnlyList<string> RepairedCategories);
