using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace ServerlessMeta.Storage.Internal;

/// <summary>Size and SHA-256 of bytes written.</summary>
internal readonly record struct WrittenBlob(long Size, string Sha256);

/// <summary>Bytes that verified, or why they did not.</summary>
internal sealed record VerifiedContent(Stream? Content, long Size, string? Sha256, string? Failure, IDictionary<string, string>? Metadata)
{
    public static VerifiedContent Failed(string reason) => new(null, 0, null, reason, null);
}

/// <summary>
/// Model bytes in and out of block blobs. Upload reads the caller's stream once, hashing it and staging
/// 4 MiB blocks, and commits the block list with the SHA-256 in the blob's metadata and If-None-Match: *,
/// so an existing blob is never replaced. A blob appears whole at commit or not at all. Download hashes while copying and reports any difference.
/// </summary>
internal static class ModelBlobs
{
    public const int BlockSize = 4 * 1024 * 1024;
    public const string Sha256Key = "sha256";
    public const string SizeKey = "size";
    public const string WriteIdKey = "writeid";
    private const string ContentType = "application/octet-stream";

    public static async Task<WrittenBlob> UploadAsync(BlobClient blob, Stream content, string writeId, long maxBytes, string field, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        if (!content.CanRead)
        {
            throw new ArgumentException($"The {field} stream is not readable.", field);
        }

        var client = blob.GetParentBlobContainerClient().GetBlockBlobClient(blob.Name);
        var conditions = new BlobRequestConditions { IfNoneMatch = ETag.All };
        var headers = new BlobHttpHeaders { ContentType = ContentType };
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            var blockIds = new List<string>();
            long total = 0;
            while (true)
            {
                var read = await content.ReadAtLeastAsync(buffer.AsMemory(0, BlockSize), BlockSize, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                total += read;
                if (total > maxBytes)
                {
                    throw new ArgumentException($"The {field} is larger than the {maxBytes} bytes accepted.", field);
                }

                hash.AppendData(buffer, 0, read);
                var endOfStream = read < BlockSize;
                if (endOfStream && blockIds.Count == 0)
                {
                    if (total == 0)
                    {
                        throw new ArgumentException($"The {field} is empty.", field);
                    }

                    // Everything fits one request: a single Put Blob carrying the metadata.
                    var written = new WrittenBlob(total, Convert.ToHexStringLower(hash.GetHashAndReset()));
                    using var single = new MemoryStream(buffer, 0, read, writable: false);
                    var options = new BlobUploadOptions { HttpHeaders = headers, Metadata = Metadata(written, writeId), Conditions = conditions };
                    await CommitAsync(client, written, writeId, () => client.UploadAsync(single, options, cancellationToken), cancellationToken).ConfigureAwait(false);
                    return written;
                }

                if (read > 0)
                {
                    var blockId = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{writeId}-{blockIds.Count:D6}"));
                    using var block = new MemoryStream(buffer, 0, read, writable: false);
                    await client.StageBlockAsync(blockId, block, options: null, cancellationToken).ConfigureAwait(false);
                    blockIds.Add(blockId);
                }

                if (endOfStream)
                {
                    var written = new WrittenBlob(total, Convert.ToHexStringLower(hash.GetHashAndReset()));
                    var options = new CommitBlockListOptions { HttpHeaders = headers, Metadata = Metadata(written, writeId), Conditions = conditions };
                    await CommitAsync(client, written, writeId, () => client.CommitBlockListAsync(blockIds, options, cancellationToken), cancellationToken).ConfigureAwait(false);
                    return written;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task CommitAsync(BlockBlobClient client, WrittenBlob written, string writeId, Func<Task<Response<BlobContentInfo>>> commit, CancellationToken cancellationToken)
    {
        try
        {
            await commit().ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412)
        {
            // A retried request whose first attempt committed finds its own blob: that is success.
            var properties = await client.GetPropertiesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            if (properties.Value.Metadata.TryGetValue(WriteIdKey, out var existing) && existing == writeId &&
                properties.Value.ContentLength == written.Size)
            {
                return;
            }

            throw new ConflictException($"Blob '{client.Name}' already exists; a model blob is never replaced.", e);
        }
    }

    private static Dictionary<string, string> Metadata(WrittenBlob written, string writeId) => new(StringComparer.Ordinal)
    {
        [Sha256Key] = written.Sha256,
        [SizeKey] = written.Size.ToString(CultureInfo.InvariantCulture),
        [WriteIdKey] = writeId,
    };

    /// <summary>
    /// Downloads a blob and checks it against the expected size and SHA-256. Verified bytes up to <paramref name="maxInMemory"/> stay in memory,
    /// larger ones go to a temporary file deleted on dispose.
    /// </summary>
    public static async Task<VerifiedContent> DownloadVerifiedAsync(BlobClient blob, long expectedSize, string expectedSha256, long maxInMemory, CancellationToken cancellationToken)
    {
        Response<BlobDownloadStreamingResult> response;
        try
        {
            response = await blob.DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return VerifiedContent.Failed($"blob '{blob.Name}' is missing");
        }

        using var result = response.Value;
        var metadata = result.Details.Metadata;
        var length = result.Details.ContentLength;
        if (length != expectedSize)
        {
            return VerifiedContent.Failed($"blob '{blob.Name}' is {length} bytes, {expectedSize} were recorded");
        }

        Stream destination = length <= maxInMemory
            ? new MemoryStream((int)length)
            : new FileStream(Path.Combine(Path.GetTempPath(), $"smeta-{Guid.NewGuid():N}.tmp"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        var keep = false;
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = ArrayPool<byte>.Shared.Rent(81920);
            long copied = 0;
            try
            {
                int read;
                while ((read = await result.Content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    copied += read;
                    if (copied > expectedSize)
                    {
                        return VerifiedContent.Failed($"blob '{blob.Name}' is longer than the {expectedSize} bytes recorded");
                    }

                    hash.AppendData(buffer, 0, read);
                    await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (copied != expectedSize)
            {
                return VerifiedContent.Failed($"blob '{blob.Name}' ended after {copied} of {expectedSize} bytes");
            }

            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (!string.Equals(actual, expectedSha256, StringComparison.OrdinalIgnoreCase))
            {
                return VerifiedContent.Failed($"SHA-256 of blob '{blob.Name}' is {actual}, {expectedSha256} was recorded");
            }

            destination.Position = 0;
            keep = true;
            return new VerifiedContent(destination, copied, actual, null, metadata);
        }
        finally
        {
            if (!keep)
            {
                await destination.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
