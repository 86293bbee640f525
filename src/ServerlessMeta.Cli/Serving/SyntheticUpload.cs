using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Application.Categories;

namespace ServerlessMeta.Cli.Serving;

/// <summary>The synthetic catalogue as the API sees it, and its upload through <c>POST /api/categories/{id}/examples</c>.</summary>
internal static class SyntheticUpload
{
    /// <summary>The catalogue's labels are "{category}/{label}"; the API gets the part after the slash.</summary>
    public static string ShortLabel(string label) => label[(label.IndexOf('/', StringComparison.Ordinal) + 1)..];

    public static WireExample Example(LabelledItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return new WireExample(item.Text, item.Features, ShortLabel(item.Label));
    }

    public static WireItem Item(LabelledItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return new WireItem(item.Text, item.Features);
    }

    /// <summary>Uploads every category's items under its id (with <paramref name="idPrefix"/>), a few requests at a time.</summary>
    /// <returns>The examples stored.</returns>
    public static async Task<long> IngestAsync(ApiClient client, IReadOnlyList<SyntheticCategory> categories, string idPrefix, int concurrency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        long stored = 0;
        await Parallel.ForEachAsync(categories, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellationToken }, async (category, token) =>
        {
            var examples = category.Items.Select(Example).ToList();
            foreach (var chunk in examples.Chunk(1000))
            {
                var response = await client.PostAsync<IngestResult>($"api/categories/{ApiClient.Escape(idPrefix + category.CategoryId)}/examples", new ExamplesRequest(chunk), token).ConfigureAwait(false);
                Interlocked.Add(ref stored, response.Appended);
            }
        }).ConfigureAwait(false);
        return stored;
    }

    /// <summary>
    /// Splits each label's items in order: the first <paramref name="shots"/> are the support set, the next
    /// <paramref name="feedback"/> are sent later as feedback, the rest are held out for scoring.
    /// </summary>
    public static (List<LabelledItem> Support, List<LabelledItem> Feedback, List<LabelledItem> HeldOut) Split(SyntheticCategory category, int shots, int feedback)
    {
        ArgumentNullException.ThrowIfNull(category);
        var (support, extra, heldOut) = (new List<LabelledItem>(), new List<LabelledItem>(), new List<LabelledItem>());
        foreach (var group in category.Items.GroupBy(i => i.Label, StringComparer.Ordinal))
        {
            var items = group.ToList();
            support.AddRange(items.Take(shots));
            extra.AddRange(items.Skip(shots).Take(feedback));
            heldOut.AddRange(items.Skip(shots + feedback));
        }

        return (support, extra, heldOut);
    }

    /// <summary>Predicts <paramref name="items"/> with a version of a category and returns the share labelled right.</summary>
    public static async Task<double> AccuracyAsync(ApiClient client, string categoryId, int? version, IReadOnlyList<LabelledItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(items);
        var correct = 0;
        var offset = 0;
        foreach (var chunk in items.Chunk(10_000))
        {
            var response = await client.PostAsync<PredictionResult>(
                $"api/categories/{ApiClient.Escape(categoryId)}/predict", new PredictRequest([.. chunk.Select(Item)], version), cancellationToken).ConfigureAwait(false);
            var predictions = response.Predictions ?? [];
            if (predictions.Count != chunk.Length)
            {
                throw new InvalidDataException($"predict {categoryId}: {predictions.Count} predictions for {chunk.Length} items.");
            }

            for (var i = 0; i < chunk.Length; i++)
            {
                correct += predictions[i].Label == ShortLabel(chunk[i].Label) ? 1 : 0;
            }

            offset += chunk.Length;
        }

        return offset == 0 ? double.NaN : (double)correct / offset;
    }
}
