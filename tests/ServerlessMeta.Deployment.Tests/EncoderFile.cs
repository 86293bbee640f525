using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;

namespace ServerlessMeta.Deployment.Tests;

/// <summary>
/// Reads the digests of the published encoder file's two resources (the ONNX model and the vocab) the way
/// the service does, with a PE reader, so the test knows the deployment carries exactly the pinned weights.
/// </summary>
internal static class EncoderFile
{
    // The same digests as MiniLmTextEncoder pins (the deployment tests reference no engine code).
    public const string ModelSha256 = "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2";
    public const string VocabSha256 = "b49e80874c5efbc7f4cde245a812673b05ef1360ced56b8bc8c750eaeef3fe0f";

    public static (string Model, string Vocab) Resources(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream, PEStreamOptions.PrefetchEntireImage);
        var metadata = pe.GetMetadataReader();
        var section = pe.GetSectionData(pe.PEHeaders.CorHeader!.ResourcesDirectory.RelativeVirtualAddress);
        string? model = null, vocab = null;
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            var name = metadata.GetString(resource.Name);
            var reader = section.GetReader((int)resource.Offset, section.Length - (int)resource.Offset);
            var digest = Convert.ToHexStringLower(SHA256.HashData(reader.ReadBytes(reader.ReadInt32())));
            if (name.EndsWith("model.onnx", StringComparison.Ordinal))
            {
                model = digest;
            }
            else if (name.EndsWith("vocab.txt", StringComparison.Ordinal))
            {
                vocab = digest;
            }
        }

        return (model ?? "missing", vocab ?? "missing");
    }
}
