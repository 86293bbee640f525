using Azure;
using Azure.Storage.Blobs.Models;
using ServerlessMeta.Storage.Internal;

namespace ServerlessMeta.Storage;

/// <summary>
/// A content-addressed cache of text embeddings: <c>embeddings/{encoder}/{key[0..2]}/{key}</c>, where the
/// encoder names the model (and its weights) and the key is the SHA-256 of the text. An entry never
/// changes once written (create-only, If-None-Match: *), so any process may read any entry at any time
/// and concurrent writers of the same text agree. Storage never interprets the bytes.
/// </summary>
public sealed class EmbeddingCache
{
    public const string Prefix = "embeddings/";

    /// <summary>Concurrent requests of one <see cref="GetManyAsync"/> or <see cref="PutManyAsync"/>.</summary>
    public const int DefaultParallelism = 32;

    private readonly StorageContext _context;

    internal EmbeddingCache(StorageContext context) => _context = context;

    /// <summary>The blob of an entry.</summary>
    public static string BlobName(string encoder, string key)
    {
        ValidateEncoder(encoder);
        ValidateKey(key);
        return $"{Prefix}{encoder}/{key[..2]}/{key}";
    }

    /// <summary>The entries that exist among <paramref name="keys"/> (missing ones are simply absent).</summary>
    public async Task<IReadOnlyDictionary<string, BinaryData>> GetManyAsync(string encoder, IEnumerable<string> keys, int parallelism = DefaultParallelism, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var distinct = keys.Distinct(StringComparer.Ordinal).ToList();
        var names = distinct.Select(k => BlobName(encoder, k)).ToList();
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var found = new BinaryData?[distinct.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, distinct.Count), new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellationToken }, async (i, token) =>
        {
            try
            {
                found[i] = (await _context.Container.GetBlobClient(names[i]).DownloadContentAsync(token).ConfigureAwait(false)).Value.Content;
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                found[i] = null;
            }
        }).ConfigureAwait(false);
        var result = new Dictionary<string, BinaryData>(StringComparer.Ordinal);
        for (var i = 0; i < distinct.Count; i++)
        {
            if (found[i] is { } content)
            {
                result[distinct[i]] = content;
            }
        }

        return result;
    }

    /// <summary>Writes the entries that do not exist yet; returns how many this call created.</summary>
    public async Task<int> PutManyAsync(string encoder, IReadOnlyDictionary<string, BinaryData> entries, int parallelism = DefaultParallelism, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var items = entries.Select(e => (Name: BlobName(encoder, e.Key), e.Value)).ToList();
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var created = 0;
        var conditions = new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } };
        await Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, parallelism), CancellationToken = cancellationToken }, async (item, token) =>
        {
            try
            {
                await _context.Container.GetBlobClient(item.Name).UploadAsync(item.Value, conditions, token).ConfigureAwait(false);
                Interlocked.Increment(ref created);
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                // Another writer stored the same text first: the same bytes, by construction.
            }
        }).ConfigureAwait(false);
        return created;
    }

    /// <summary>Encoder names: 1-100 lower-case letters, digits, '.', '-' and '_'.</summary>
    private static void ValidateEncoder(string encoder)
    {
        if (string.IsNullOrEmpty(encoder) || encoder.Length > 100 || !encoder.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_'))
        {
            throw new ArgumentException($"'{encoder}' is not a valid encoder name for the embedding cache (1-100 lower-case letters, digits, '.', '-', '_').", nameof(encoder));
        }
    }

    /// <summary>Keys are SHA-256 digests: 64 lower-case hex digits.</summary>
    private static void ValidateKey(string key)
    {
        if (key is not { Length: 64 } || !key.All(char.IsAsciiHexDigitLower))
        {
            throw new ArgumentException($"'{key}' is not a valid embedding cache key (64 lower-case hex digits).", nameof(key));
        }
    }
}
