using System.Text.Json.Serialization;

namespace ServerlessMeta.Learning.Featurization.Text;

/// <summary>
/// Which pretrained text encoder made a vector: stored in featurizer options (and so in every model
/// file), so a model only ever sees vectors of the encoder it was trained on.
/// </summary>
/// <param name="Name">The encoder's name, e.g. <c>all-MiniLM-L6-v2</c>.</param>
/// <param name="ModelSha256">Lower-case hex SHA-256 of the encoder's weights (the ONNX file).</param>
/// <param name="Dimension">Length of one embedding.</param>
public sealed record TextEncoderInfo(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("sha256")] string ModelSha256,
    [property: JsonPropertyName("dimension")] int Dimension)
{
    /// <summary>A short id for cache keys and logs: name and the first 16 hex digits of the weights' SHA-256.</summary>
    [JsonIgnore]
    public string Id => $"{Name}@{ModelSha256[..Math.Min(16, ModelSha256.Length)]}";

    public override string ToString() => $"{Name} (sha256 {ModelSha256[..Math.Min(12, ModelSha256.Length)]}..., {Dimension} dimensions)";

    /// <summary>Throws <see cref="ArgumentException"/> when the description cannot be right.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name) || Name.Length > 200)
        {
            throw new ArgumentException("encoder.name must be 1-200 characters.", "encoder");
        }

        if (ModelSha256 is not { Length: 64 } || !ModelSha256.All(char.IsAsciiHexDigitLower))
        {
            throw new ArgumentException("encoder.sha256 must be 64 lower-case hex digits.", "encoder");
        }

        if (Dimension is < 1 or > 16_384)
        {
            throw new ArgumentException($"encoder.dimension must be between 1 and 16384, got {Dimension}.", "encoder");
        }
    }
}

/// <summary>
/// A pretrained sentence encoder: texts in, one L2-normalised vector per text out. Implementations
/// are thread-safe and deterministic (the same text gives the same vector in every process).
/// </summary>
public interface ITextEncoder
{
    TextEncoderInfo Info { get; }

    /// <summary>
    /// Embeds <paramref name="texts"/> into <paramref name="destination"/>, row-major
    /// (texts.Count x <see cref="TextEncoderInfo.Dimension"/>).
    /// </summary>
    void Embed(IReadOnlyList<string> texts, Span<float> destination);
}

/// <summary>Items featurized for one encoder were handed to a model or featurizer of another (or of none).</summary>
public sealed class TextEncoderMismatchException : InvalidOperationException
{
    public TextEncoderMismatchException()
    {
    }

    public TextEncoderMismatchException(string message)
        : base(message)
    {
    }

    public TextEncoderMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
