using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Storage.Internal;

namespace ServerlessMeta.Storage;

/// <summary>
/// Labelled examples per category, stored as JSON lines in append blobs
/// (<c>datasets/{categoryId}/part-000001.jsonl</c>, ...). The category's table row holds each part's
/// committed length and the per-label counts, updated together with If-Match: bytes past a part's
/// committed length (an append that crashed before committing) are never read. Reads stream line by line,
/// so memory stays bounded whatever the size of the category.
/// </summary>
public sealed class DatasetStore
{
    /// <summary>Most examples one append accepts.</summary>
    public const int MaxExamplesPerAppend = 10_000;

    /// <summary>Most bytes of JSON lines one append accepts.</summary>
    public const int MaxAppendBytes = 32 * 1024 * 1024;

    public const int MaxLabelLength = 100;

    public const int MaxLabelsPerCategory = 200;

    public const int MaxTextLength = 10_000;

    public const int MaxFeatures = 100_000;

    /// <summary>Append blocks are at most 4 MiB (the limit of older service versions and Azurite).</summary>
    internal const int MaxBlockBytes = 4 * 1024 * 1024;

    /// <summary>An append blob takes 50,000 blocks; roll to a new part well before.</summary>
    internal const int MaxBlocksPerPart = 49_000;

    private readonly StorageContext _context;
    private readonly ILogger _logger;

    internal DatasetStore(StorageContext context)
    {
        _context = context;
        _logger = context.Loggers.CreateLogger<DatasetStore>();
    }

    /// <summary>How long an appender waits on uncommitted bytes of another writer before sealing the part.</summary>
    internal TimeSpan AppendStallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Appends examples to a category's dataset, all or none. Throws <see cref="ArgumentException"/> naming
    /// the offending field (e.g. <c>examples[3].label</c>) before any storage call, and
    /// <see cref="CategoryNotFoundException"/> when the category does not exist.
    /// </summary>
    public async Task<DatasetAppendResult> AppendExamplesAsync(string categoryId, IReadOnlyList<StoredExample> examples, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        var batch = Batch.Create(examples);
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        return await AppendAsync(categoryId, batch, cancellationToken).ConfigureAwait(false);
    }

    private async Task<DatasetAppendResult> AppendAsync(string categoryId, Batch batch, CancellationToken cancellationToken)
    {
        ETag? stalledOn = null;
        var stalled = Stopwatch.StartNew();
        for (var attempt = 0; attempt < Optimistic.MaxAttempts; attempt++)
        {
            var entity = await _context.GetCategoryEntityAsync(categoryId, cancellationToken).ConfigureAwait(false);
            batch.CheckFits(categoryId, entity);
            var parts = CurrentParts(entity);
            var part = parts.Count;
            var committed = parts[^1];
            var blob = _context.Container.GetAppendBlobClient(Keys.DatasetPartBlob(categoryId, part));
            if (committed == 0)
            {
                await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            var appended = await TryAppendAsync(blob, batch, committed, cancellationToken).ConfigureAwait(false);
            if (appended is null)
            {
                // Bytes past the committed length that are not ours: a writer in flight, or one that died.
                if (stalledOn != entity.ETag)
                {
                    stalledOn = entity.ETag;
                    stalled.Restart();
                }
                else if (stalled.Elapsed > AppendStallTimeout)
                {
                    await RollAsync(categoryId, entity, parts, cancellationToken).ConfigureAwait(false);
                }

                await Optimistic.BackoffAsync(attempt, cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (appended.Value.End < 0)
            {
                // Part of our own batch landed before a block was refused: seal the part, write again.
                await RollAsync(categoryId, entity, parts, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var result = await CommitAsync(categoryId, entity, batch, part, committed, appended.Value, cancellationToken).ConfigureAwait(false);
            if (result is not null)
            {
                return result;
            }
        }

        throw Optimistic.TooMuchContention($"the dataset of category '{categoryId}'");
    }

    /// <summary>
    /// The category's examples in the order they were appended, optionally only those of one label,
    /// streamed a line at a time. Validates <paramref name="categoryId"/> at the call.
    /// </summary>
    public IAsyncEnumerable<StoredExample> ReadExamplesAsync(string categoryId, string? label = null, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        return ReadCurrentAsync(categoryId, label, cancellationToken);
    }

    /// <summary>Exactly the examples of a snapshot, however much was appended since.</summary>
    public IAsyncEnumerable<StoredExample> ReadExamplesAsync(CategorySnapshot snapshot, string? label = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        StorageIds.Validate(snapshot.CategoryId, "categoryId");
        return ReadPartsAsync(snapshot.CategoryId, snapshot.PartLengths, label, cancellationToken);
    }

    /// <summary>
    /// Up to <paramref name="perLabel"/> examples of every label, drawn uniformly without replacement in one
    /// streaming pass (reservoir sampling): memory grows with labels × <paramref name="perLabel"/>, not with
    /// the category. The same seed over the same data draws the same examples.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<StoredExample>>> SampleExamplesAsync(
        string categoryId, int perLabel, int seed, CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(categoryId, "categoryId");
        if (perLabel is < 1 or > 100_000)
        {
            throw new ArgumentException($"perLabel must be between 1 and 100000, got {perLabel}.", nameof(perLabel));
        }

        var random = new Random(seed);
        var reservoirs = new SortedDictionary<string, (long Seen, List<StoredExample> Kept)>(StringComparer.Ordinal);
        await foreach (var example in ReadCurrentAsync(categoryId, null, cancellationToken).ConfigureAwait(false))
        {
            if (!reservoirs.TryGetValue(example.Label, out var reservoir))
            {
                reservoir = (0, []);
            }

            reservoir.Seen++;
            if (reservoir.Kept.Count < perLabel)
            {
                reservoir.Kept.Add(example);
            }
            else
            {
                var slot = random.NextInt64(reservoir.Seen);
                if (slot < perLabel)
                {
                    reservoir.Kept[(int)slot] = example;
                }
            }

            reservoirs[example.Label] = reservoir;
        }

        var sample = new SortedDictionary<string, IReadOnlyList<StoredExample>>(StringComparer.Ordinal);
        foreach (var (label, reservoir) in reservoirs)
        {
            sample[label] = reservoir.Kept;
        }

        return sample;
    }

    /// <summary>Every category's committed data now, with an id that changes exactly when data is appended.</summary>
    public async Task<DataSnapshot> TakeSnapshotAsync(CancellationToken cancellationToken = default)
    {
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var categories = new List<CategorySnapshot>();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {Keys.CategoriesPartition}");
        var select = new[] { "RowKey", nameof(CategoryEntity.ExampleCount), nameof(CategoryEntity.LabelCounts), nameof(CategoryEntity.DatasetParts) };
        await foreach (var entity in _context.Table.QueryAsync<CategoryEntity>(filter, select: select, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            if (entity.ExampleCount == 0)
            {
                continue;
            }

            var parts = Json.ReadParts(entity.DatasetParts);
            categories.Add(new CategorySnapshot(entity.RowKey, entity.ExampleCount, Json.ReadCounts(entity.LabelCounts), parts));
            var line = new StringBuilder(entity.RowKey);
            for (var i = 0; i < parts.Count; i++)
            {
                if (parts[i] > 0)
                {
                    line.Append(CultureInfo.InvariantCulture, $"\t{i + 1}:{parts[i]}");
                }
            }

            hash.AppendData(Encoding.UTF8.GetBytes(line.Append('\n').ToString()));
        }

        return new DataSnapshot(Convert.ToHexStringLower(hash.GetHashAndReset()), _context.Time.GetUtcNow(), categories);
    }

    /// <summary>Whether any category's data differs from the snapshot with id <paramref name="snapshotId"/>.</summary>
    public async Task<bool> HasChangedSinceAsync(string snapshotId, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(snapshotId))
        {
            throw new ArgumentException("snapshotId is required.", nameof(snapshotId));
        }

        var now = await TakeSnapshotAsync(cancellationToken).ConfigureAwait(false);
        return !string.Equals(now.Id, snapshotId, StringComparison.OrdinalIgnoreCase);
    }

    private async IAsyncEnumerable<StoredExample> ReadCurrentAsync(string categoryId, string? label, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var entity = await _context.GetCategoryEntityAsync(categoryId, cancellationToken).ConfigureAwait(false);
        await foreach (var example in ReadPartsAsync(categoryId, Json.ReadParts(entity.DatasetParts), label, cancellationToken).ConfigureAwait(false))
        {
            yield return example;
        }
    }

    private async IAsyncEnumerable<StoredExample> ReadPartsAsync(string categoryId, IReadOnlyList<long> parts, string? label, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        for (var index = 0; index < parts.Count; index++)
        {
            if (parts[index] <= 0)
            {
                continue;
            }

            var name = Keys.DatasetPartBlob(categoryId, index + 1);
            var options = new BlobDownloadOptions { Range = new HttpRange(0, parts[index]) };
            var response = await _context.Container.GetBlobClient(name).DownloadStreamingAsync(options, cancellationToken).ConfigureAwait(false);
            using var download = response.Value;
            using var reader = new StreamReader(download.Content, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, bufferSize: 64 * 1024);
            long lineNumber = 0;
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                lineNumber++;
                if (line.Length == 0)
                {
                    continue;
                }

                var example = Parse(line, name, lineNumber);
                if (label is null || string.Equals(example.Label, label, StringComparison.Ordinal))
                {
                    yield return example;
                }
            }
        }
    }

    private static StoredExample Parse(string line, string blobName, long lineNumber)
    {
        try
        {
            return JsonSerializer.Deserialize(line, StorageJsonContext.Stored.StoredExample)
                ?? throw new InvalidDataException($"{blobName} line {lineNumber} is null.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{blobName} line {lineNumber} is not an example: {e.Message}", e);
        }
    }

    private static List<long> CurrentParts(CategoryEntity entity)
    {
        var parts = Json.ReadParts(entity.DatasetParts);
        if (parts.Count == 0)
        {
            parts.Add(0);
        }

        return parts;
    }

    /// <summary>
    /// Appends the batch's blocks at <paramref name="committed"/> with append-position conditions. Null when
    /// the first block is refused (someone else's bytes are there); End = -1 when a later block is refused.
    /// </summary>
    private static async Task<(long End, int Blocks)?> TryAppendAsync(AppendBlobClient blob, Batch batch, long committed, CancellationToken cancellationToken)
    {
        var position = committed;
        var blocks = 0;
        foreach (var block in batch.Blocks)
        {
            try
            {
                using var content = new MemoryStream(block, writable: false);
                var options = new AppendBlobAppendBlockOptions { Conditions = new AppendBlobRequestConditions { IfAppendPositionEqual = position } };
                var response = await blob.AppendBlockAsync(content, options, cancellationToken).ConfigureAwait(false);
                blocks = response.Value.BlobCommittedBlockCount;
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                return position == committed ? null : (-1, blocks);
            }

            position += block.Length;
        }

        return (position, blocks);
    }

    /// <summary>Seals the current part (its committed length stays) and starts the next one.</summary>
    private async Task RollAsync(string categoryId, CategoryEntity entity, List<long> parts, CancellationToken cancellationToken)
    {
        var rolled = new List<long>(parts) { 0 };
        entity.DatasetParts = Json.WriteParts(rolled);
        try
        {
            await _context.Table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            _logger.DatasetPartRolled(categoryId, parts.Count, parts[^1], rolled.Count);
        }
        catch (RequestFailedException e) when (e.Status == 412)
        {
            // Someone moved on first; the caller re-reads.
        }
    }

    /// <summary>
    /// Makes appended bytes visible: the part's committed length and the counts move in one If-Match
    /// update. Null when the part was sealed meanwhile (the bytes are abandoned; the caller writes again).
    /// </summary>
    private async Task<DatasetAppendResult?> CommitAsync(
        string categoryId, CategoryEntity entity, Batch batch, int part, long committed, (long End, int Blocks) appended, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Optimistic.MaxAttempts; attempt++)
        {
            var parts = CurrentParts(entity);
            if (parts.Count != part || parts[^1] != committed)
            {
                return null;
            }

            var counts = ApplyCommit(categoryId, entity, batch, parts, appended);
            try
            {
                await _context.Table.UpdateEntityAsync(entity, entity.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return new DatasetAppendResult(batch.Examples.Count, entity.ExampleCount, counts);
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                entity = await _context.GetCategoryEntityAsync(categoryId, cancellationToken).ConfigureAwait(false);
            }
        }

        throw Optimistic.TooMuchContention($"the dataset of category '{categoryId}'");
    }

    /// <summary>
    /// Moves the row, in memory, past appended bytes: the part's committed length (rolling to a new part when
    /// this one is full), the label counts, the example count and the feature width. Returns the counts.
    /// </summary>
    private SortedDictionary<string, long> ApplyCommit(string categoryId, CategoryEntity entity, Batch batch, List<long> parts, (long End, int Blocks) appended)
    {
        batch.CheckFits(categoryId, entity);
        parts[^1] = appended.End;
        if (appended.End >= _context.Options.DatasetPartMaxBytes || appended.Blocks >= MaxBlocksPerPart)
        {
            parts.Add(0);
        }

        var counts = Json.ReadCounts(entity.LabelCounts);
        foreach (var (label, count) in batch.LabelCounts)
        {
            counts[label] = counts.GetValueOrDefault(label) + count;
        }

        entity.DatasetParts = Json.WriteParts(parts);
        entity.LabelCounts = Json.WriteCounts(counts);
        entity.ExampleCount += batch.Examples.Count;
        entity.FeatureCount ??= batch.FeatureCount;
        return counts;
    }

    /// <summary>
    /// Starts the first append to a category whose row <paramref name="created"/> the caller has just inserted (or
    /// taken over, see <see cref="RollForTakeOver"/>): writes the batch to the row's current part without committing
    /// it, so that <see cref="FirstAppend.CommitAsync"/> can commit it later in the caller's own update of the row.
    /// </summary>
    internal async Task<FirstAppend> BeginFirstAppendAsync(string categoryId, CategoryEntity created, Batch batch, CancellationToken cancellationToken)
    {
        // A new row's current part (part 1; a later one when a create took over an abandoned row, see RollForTakeOver).
        var parts = CurrentParts(created);
        var blob = _context.Container.GetAppendBlobClient(Keys.DatasetPartBlob(categoryId, parts.Count));
        await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var appended = await TryAppendAsync(blob, batch, parts[^1], cancellationToken).ConfigureAwait(false);
        return new FirstAppend(this, categoryId, created, batch, appended is { End: >= 0 } placed ? (parts.Count, parts[^1], placed.End, placed.Blocks) : null);
    }

    /// <summary>
    /// The dataset parts of a row a create takes over from an abandoned create: the dead writer may have left
    /// uncommitted bytes in the current part, so the new create writes into a fresh one (no waiting on a writer that is gone).
    /// </summary>
    internal static string RollForTakeOver(CategoryEntity abandoned) => Json.WriteParts([.. CurrentParts(abandoned), 0]);

    /// <summary>
    /// A first append begun by <see cref="BeginFirstAppendAsync"/>: its bytes are in the part (unless another writer
    /// got there first) but not yet committed.
    /// </summary>
    internal sealed class FirstAppend
    {
        private readonly DatasetStore _store;
        private readonly string _categoryId;
        private readonly CategoryEntity _row;
        private readonly Batch _batch;
        private readonly (int Part, long Committed, long End, int Blocks)? _placed;

        internal FirstAppend(DatasetStore store, string categoryId, CategoryEntity row, Batch batch, (int Part, long Committed, long End, int Blocks)? placed)
        {
            _store = store;
            _categoryId = categoryId;
            _row = row;
            _batch = batch;
            _placed = placed;
        }

        /// <summary>
        /// Commits the examples. When the bytes were placed and the row is still as the caller created it, that is one
        /// If-Match update of the row which also carries <paramref name="alsoChange"/> (true). Otherwise (the row
        /// changed meanwhile, or its ETag is unknown) the bytes are committed the usual way if they are still the
        /// part's next ones, or the batch is appended again as <see cref="AppendExamplesAsync"/> does; then
        /// <paramref name="alsoChange"/> was not written and the caller makes that change itself (false).
        /// </summary>
        public async Task<bool> CommitAsync(Action<CategoryEntity> alsoChange, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(alsoChange);
            if (_placed is { } placed && _row.ETag != ETag.All)
            {
                _store.ApplyCommit(_categoryId, _row, _batch, CurrentParts(_row), (placed.End, placed.Blocks));
                alsoChange(_row);
                try
                {
                    await _store._context.Table.UpdateEntityAsync(_row, _row.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                    return true;
                }
                catch (RequestFailedException e) when (e.Status == 412)
                {
                    // The row changed since it was created: commit against its current state.
                }
            }

            if (_placed is { } bytes)
            {
                var entity = await _store._context.GetCategoryEntityAsync(_categoryId, cancellationToken).ConfigureAwait(false);
                if (await _store.CommitAsync(_categoryId, entity, _batch, bytes.Part, bytes.Committed, (bytes.End, bytes.Blocks), cancellationToken).ConfigureAwait(false) is not null)
                {
                    return false;
                }
            }

            await _store.AppendAsync(_categoryId, _batch, cancellationToken).ConfigureAwait(false);
            return false;
        }
    }

    /// <summary>A validated, serialised append: JSON lines cut into blocks that each end at a line end.</summary>
    internal sealed class Batch
    {
        private Batch(List<StoredExample> examples, List<byte[]> blocks, SortedDictionary<string, long> labelCounts, int? featureCount, int featureIndex)
        {
            Examples = examples;
            Blocks = blocks;
            LabelCounts = labelCounts;
            FeatureCount = featureCount;
            FeatureIndex = featureIndex;
        }

        public List<StoredExample> Examples { get; }

        public List<byte[]> Blocks { get; }

        public SortedDictionary<string, long> LabelCounts { get; }

        public int? FeatureCount { get; }

        private int FeatureIndex { get; }

        public static Batch Create(IReadOnlyList<StoredExample>? examples)
        {
            if (examples is null || examples.Count == 0)
            {
                throw new ArgumentException("examples must hold at least one example.", nameof(examples));
            }

            if (examples.Count > MaxExamplesPerAppend)
            {
                throw new ArgumentException($"examples holds {examples.Count} examples; one append takes at most {MaxExamplesPerAppend}.", nameof(examples));
            }

            var normalised = new List<StoredExample>(examples.Count);
            var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
            int? featureCount = null;
            var featureIndex = -1;
            var blocks = new List<byte[]>();
            using var block = new MemoryStream();
            long total = 0;
            for (var i = 0; i < examples.Count; i++)
            {
                var example = Normalise(examples[i], i);
                if (example.Features is { } features)
                {
                    if (featureCount is null)
                    {
                        featureCount = features.Count;
                        featureIndex = i;
                    }
                    else if (features.Count != featureCount)
                    {
                        throw new ArgumentException(
                            $"examples[{i}].features has {features.Count} numbers but examples[{featureIndex}].features has {featureCount}; every example with features carries the same number.",
                            $"examples[{i}].features");
                    }
                }

                var line = JsonSerializer.SerializeToUtf8Bytes(example, StorageJsonContext.Stored.StoredExample);
                total += line.Length + 1;
                if (total > MaxAppendBytes)
                {
                    throw new ArgumentException($"examples serialise to more than {MaxAppendBytes} bytes; split the append.", nameof(examples));
                }

                if (block.Length + line.Length + 1 > MaxBlockBytes)
                {
                    blocks.Add(block.ToArray());
                    block.SetLength(0);
                }

                block.Write(line);
                block.WriteByte((byte)'\n');
                counts[example.Label] = counts.GetValueOrDefault(example.Label) + 1;
                normalised.Add(example);
            }

            blocks.Add(block.ToArray());
            return new Batch(normalised, blocks, counts, featureCount, featureIndex);
        }

        /// <summary>Throws <see cref="ArgumentException"/> when the batch does not fit the category's data.</summary>
        public void CheckFits(string categoryId, CategoryEntity entity)
        {
            if (FeatureCount is { } count && entity.FeatureCount is { } existing && existing != count)
            {
                throw new ArgumentException(
                    $"examples[{FeatureIndex}].features has {count} numbers; examples of category '{categoryId}' carry {existing}.",
                    $"examples[{FeatureIndex}].features");
            }

            var labels = Json.ReadCounts(entity.LabelCounts);
            var added = LabelCounts.Keys.Where(l => !labels.ContainsKey(l)).ToList();
            if (labels.Count + added.Count > MaxLabelsPerCategory)
            {
                var index = Examples.FindIndex(e => e.Label == added[MaxLabelsPerCategory - labels.Count]);
                throw new ArgumentException(
                    $"examples[{index}].label would give category '{categoryId}' more than {MaxLabelsPerCategory} labels.",
                    $"examples[{index}].label");
            }
        }

        private static StoredExample Normalise(StoredExample? example, int index)
        {
            if (example is null)
            {
                throw new ArgumentException($"examples[{index}] is null.", $"examples[{index}]");
            }

            var label = example.Label;
            if (string.IsNullOrWhiteSpace(label) || label.Length > MaxLabelLength || label.Any(char.IsControl))
            {
                throw new ArgumentException(
                    $"examples[{index}].label must be 1 to {MaxLabelLength} printable characters; got {StorageIds.Describe(label)}.",
                    $"examples[{index}].label");
            }

            var features = example.Features is { Count: > 0 } f ? f : null;
            if (features is not null)
            {
                if (features.Count > MaxFeatures)
                {
                    throw new ArgumentException($"examples[{index}].features has {features.Count} numbers; at most {MaxFeatures}.", $"examples[{index}].features");
                }

                for (var j = 0; j < features.Count; j++)
                {
                    if (!float.IsFinite(features[j]))
                    {
                        throw new ArgumentException($"examples[{index}].features[{j}] is {features[j]}; features must be finite.", $"examples[{index}].features");
                    }
                }
            }

            var text = string.IsNullOrWhiteSpace(example.Text) ? null : example.Text;
            if (text is { Length: > MaxTextLength })
            {
                throw new ArgumentException($"examples[{index}].text has {text.Length} characters; at most {MaxTextLength}.", $"examples[{index}].text");
            }

            if (features is null && text is null)
            {
                throw new ArgumentException($"examples[{index}] needs features, text or both.", $"examples[{index}]");
            }

            return features == example.Features && text == example.Text ? example : new StoredExample(features, text, label);
        }
    }
}
