using System.Security.Cryptography;
using System.Text.Json;
using ServerlessMeta.Storage.Internal;

namespace ServerlessMeta.Storage;

/// <summary>
/// The hash a model version records of the examples it was adapted on: SHA-256 over the sorted SHA-256s
/// of each example's canonical JSON line, so the same examples give the same hash in any order.
/// </summary>
public static class ExampleSetHash
{
    /// <summary>Lowercase hex SHA-256 of the example set.</summary>
    public static string Compute(IEnumerable<StoredExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var digests = new List<byte[]>();
        foreach (var example in examples)
        {
            ArgumentNullException.ThrowIfNull(example, nameof(examples));
            digests.Add(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(example, StorageJsonContext.Stored.StoredExample)));
        }

        digests.Sort((a, b) => a.AsSpan().SequenceCompareTo(b));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var digest in digests)
        {
            hash.AppendData(digest);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
