using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs.Models;
using ServerlessMeta.Storage.Internal;

namespace ServerlessMeta.Storage;

/// <summary>A stored artifact of a run: its blob name and the ETag that pins its exact bytes.</summary>
/// <param name="BlobName">The blob (<c>runs/{runId}/{name}</c>).</param>
/// <param name="ETag">The blob's ETag.</param>
/// <param name="Created">True when this call wrote it; false when it already existed (the existing one is described).</param>
public sealed record RunArtifact(string BlobName, string ETag, bool Created);

/// <summary>
/// Write-once artifacts of a pretraining run (<c>runs/{runId}/{name}</c>: checkpoints per round, shard
/// updates, the pinned data snapshot). Every write is create-only (If-None-Match: *), so a re-executed
/// step can never replace what an earlier execution wrote: the first write wins and later ones get its
/// ETag back. Reads can pin the ETag (If-Match). Storage never interprets the bytes.
/// </summary>
public sealed class RunArtifactStore
{
    public const string Prefix = "runs/";

    private readonly StorageContext _context;

    internal RunArtifactStore(StorageContext context) => _context = context;

    /// <summary>The blob name of an artifact.</summary>
    public static string BlobName(string runId, string name)
    {
        StorageIds.Validate(runId, "runId");
        ValidateName(name);
        return $"{Prefix}{runId}/{name}";
    }

    /// <summary>Writes the artifact unless it exists; either way returns the stored one's ETag.</summary>
    public async Task<RunArtifact> CreateAsync(string runId, string name, BinaryData content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var blobName = BlobName(runId, name);
        if (content.ToMemory().Length > _context.Options.MaxInMemoryModelBytes)
        {
            throw new ArgumentException($"A run artifact holds at most {_context.Options.MaxInMemoryModelBytes} bytes.", nameof(content));
        }

        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var blob = _context.Container.GetBlobClient(blobName);
        try
        {
            var written = await blob.UploadAsync(content, new Azure.Storage.Blobs.Models.BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } }, cancellationToken).ConfigureAwait(false);
            return new RunArtifact(blobName, written.Value.ETag.ToString(), Created: true);
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412)
        {
            var existing = await blob.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return new RunArtifact(blobName, existing.Value.ETag.ToString(), Created: false);
        }
    }

    /// <summary>The artifact's ETag, or null when it does not exist.</summary>
    public async Task<RunArtifact?> FindAsync(string runId, string name, CancellationToken cancellationToken = default)
    {
        var blobName = BlobName(runId, name);
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var properties = await _context.Container.GetBlobClient(blobName).GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            return new RunArtifact(blobName, properties.Value.ETag.ToString(), Created: false);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>
    /// Reads an artifact; with <paramref name="expectedETag"/>, only those exact bytes
    /// (<see cref="ConflictException"/> when the blob has another ETag). <see cref="NotFoundException"/> when missing.
    /// </summary>
    public async Task<BinaryData> ReadAsync(string runId, string name, string? expectedETag = null, CancellationToken cancellationToken = default)
    {
        var blobName = BlobName(runId, name);
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var options = new BlobDownloadOptions { Conditions = expectedETag is null ? null : new BlobRequestConditions { IfMatch = new ETag(expectedETag) } };
            var result = await _context.Container.GetBlobClient(blobName).DownloadContentAsync(options, cancellationToken).ConfigureAwait(false);
            return result.Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            throw new NotFoundException($"Run artifact '{blobName}' does not exist.", ex);
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            throw new ConflictException($"Run artifact '{blobName}' is not the version with ETag {expectedETag}.", ex);
        }
    }

    /// <summary>The names (relative to the run) of the run's artifacts under <paramref name="namePrefix"/>, in name order.</summary>
    public async IAsyncEnumerable<string> ListAsync(string runId, string namePrefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        StorageIds.Validate(runId, "runId");
        ArgumentNullException.ThrowIfNull(namePrefix);
        await _context.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var runPrefix = $"{Prefix}{runId}/";
        await foreach (var blob in _context.Container.GetBlobsAsync(new GetBlobsOptions { Prefix = runPrefix + namePrefix }, cancellationToken).ConfigureAwait(false))
        {
            yield return blob.Name[runPrefix.Length..];
        }
    }

    /// <summary>Deletes the run's artifacts under <paramref name="namePrefix"/> (all of them for ""); returns how many.</summary>
    public async Task<int> DeleteAsync(string runId, string namePrefix = "", CancellationToken cancellationToken = default)
    {
        var names = new List<string>();
        await foreach (var name in ListAsync(runId, namePrefix, cancellationToken).ConfigureAwait(false))
        {
            names.Add(name);
        }

        var deleted = 0;
        foreach (var name in names)
        {
            if ((await _context.Container.DeleteBlobIfExistsAsync(BlobName(runId, name), DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false)).Value)
            {
                deleted++;
            }
        }

        return deleted;
    }

    /// <summary>Names are relative paths of lower-case letters, digits, '.', '-' and '_' segments separated by '/'.</summary>
    private static void ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 200 || name.StartsWith('/') || name.EndsWith('/') ||
            name.Split('/').Any(segment => segment.Length == 0 || segment is "." or ".." || !segment.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_')))
        {
            throw new ArgumentException($"'{name}' is not a valid run artifact name (lower-case letters, digits, '.', '-', '_' in '/'-separated segments).", nameof(name));
        }
    }
}
