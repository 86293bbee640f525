namespace ServerlessMeta.Storage;

/// <summary>
/// A model whose bytes were downloaded and verified (size and SHA-256 equal to its metadata row) before
/// this object was returned. <see cref="Content"/> is seekable and positioned at 0; dispose it when done
/// (large models are held in a temporary file deleted on dispose).
/// </summary>
public sealed class ModelDownload : IDisposable, IAsyncDisposable
{
    internal ModelDownload(Stream content, int version, string blobName, long size, string sha256, int? fellBackFrom, string? fallbackReason)
    {
        Content = content;
        Version = version;
        BlobName = blobName;
        Size = size;
        Sha256 = sha256;
        FellBackFrom = fellBackFrom;
        FallbackReason = fallbackReason;
    }

    /// <summary>The verified model bytes.</summary>
    public Stream Content { get; }

    /// <summary>The version these bytes belong to.</summary>
    public int Version { get; }

    public string BlobName { get; }

    public long Size { get; }

    /// <summary>SHA-256 of <see cref="Content"/>, lowercase hex.</summary>
    public string Sha256 { get; }

    /// <summary>The version that was asked for and failed verification, when this is a fallback.</summary>
    public int? FellBackFrom { get; }

    /// <summary>Why the requested version was not served, when this is a fallback.</summary>
    public string? FallbackReason { get; }

    public bool FellBack => FellBackFrom is not null;

    /// <summary>The bytes as an array (reads <see cref="Content"/> from the start).</summary>
    public byte[] ToArray()
    {
        Content.Position = 0;
        var bytes = new byte[Size];
        Content.ReadExactly(bytes);
        Content.Position = 0;
        return bytes;
    }

    public void Dispose() => Content.Dispose();

    public ValueTask DisposeAsync() => Content.DisposeAsync();
}

