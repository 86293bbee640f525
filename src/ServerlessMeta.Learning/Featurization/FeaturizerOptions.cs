using System.Text.Json.Serialization;

namespace ServerlessMeta.Learning.Featurization;

/// <summary>
/// How items become vectors. Stored inside every model file, so a model always featurizes
/// its inputs the way it was trained.
/// </summary>
public sealed record FeaturizerOptions
{
    /// <summary>The longest text accepted, in UTF-16 characters.</summary>
    public const int DefaultMaxTextLength = 2_000;

    /// <summary>Number of numeric features every item must carry when it has any (0: items carry none).</summary>
    [JsonPropertyName("numericDimension")]
    public int NumericDimension { get; init; }

    /// <summary>Number of hashed text buckets (0: text is not used).</summary>
    [JsonPropertyName("textDimension")]
    public int TextDimension { get; init; } = 256;

    /// <summary>Texts longer than this are rejected.</summary>
    [JsonPropertyName("maxTextLength")]
    public int MaxTextLength { get; init; } = DefaultMaxTextLength;

    /// <summary>Character n-gram sizes taken inside each word (with boundary marks); empty for none.</summary>
    [JsonPropertyName("charNGrams")]
    public IReadOnlyList<int> CharNGrams { get; init; } = [3];

    /// <summary>Whether adjacent word pairs are features too.</summary>
    [JsonPropertyName("wordBigrams")]
    public bool WordBigrams { get; init; } = true;

    /// <summary>Seed of the feature hash; changing it changes every text vector.</summary>
    [JsonPropertyName("hashSeed")]
    public uint HashSeed { get; init; } = 0x5EED_0001;

    /// <summary>Length of the vectors produced: numeric features followed by text buckets.</summary>
    [JsonIgnore]
    public int OutputDimension => NumericDimension + TextDimension;

    /// <summary>Throws <see cref="ArgumentException"/> when the options cannot work.</summary>
    public void Validate()
    {
        if (NumericDimension < 0 || NumericDimension > 100_000)
        {
            throw new ArgumentException($"numericDimension must be between 0 and 100000, got {NumericDimension}.", nameof(NumericDimension));
        }

        if (TextDimension < 0 || TextDimension > 1 << 20)
        {
            throw new ArgumentException($"textDimension must be between 0 and 1048576, got {TextDimension}.", nameof(TextDimension));
        }

        if (OutputDimension == 0)
        {
            throw new ArgumentException("At least one of numericDimension and textDimension must be positive.", nameof(TextDimension));
        }

        if (MaxTextLength <= 0)
        {
            throw new ArgumentException($"maxTextLength must be positive, got {MaxTextLength}.", nameof(MaxTextLength));
        }

        if (CharNGrams.Any(n => n is < 1 or > 8))
        {
            throw new ArgumentException("charNGrams sizes must be between 1 and 8.", nameof(CharNGrams));
        }
    }
}
