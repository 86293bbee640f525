using System.Globalization;
using System.Text.Json.Serialization;
using ServerlessMeta.Learning.Featurization.Text;

namespace ServerlessMeta.Learning.Featurization;

/// <summary>
/// How items become vectors. Stored inside every model file, so a model always featurizes
/// its inputs the way it was trained. A vector is the numeric features, then (with an
/// <see cref="Encoder"/>) the text's sentence embedding, then the hashed text n-grams scaled by
/// <see cref="HashedWeight"/>. Files written before the encoder existed have neither property and
/// read as hashed-only with weight 1, exactly as they were trained.
/// </summary>
public sealed record FeaturizerOptions
{
    /// <summary>The longest text accepted, in UTF-16 characters.</summary>
    public const int DefaultMaxTextLength = 2_000;

    /// <summary>Weight of the hashed n-grams beside a sentence embedding (both parts have unit length before it).</summary>
    public const float DefaultHashedWeightWithEncoder = 0.5f;

    /// <summary>
    /// The default layout for items with text: numeric features, then the encoder's embedding (when
    /// <paramref name="encoder"/> is given) and hashed n-grams weighted by
    /// <see cref="DefaultHashedWeightWithEncoder"/>; without an encoder, hashed n-grams alone (weight 1).
    /// </summary>
    public static FeaturizerOptions ForText(TextEncoderInfo? encoder, int numericDimension = 0, int textDimension = 256) => new()
    {
        NumericDimension = numericDimension,
        Encoder = encoder,
        TextDimension = textDimension,
        HashedWeight = encoder is null ? 1f : DefaultHashedWeightWithEncoder,
    };

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

    /// <summary>The pretrained sentence encoder whose embedding of the text follows the numeric features (null: hashed text only).</summary>
    [JsonPropertyName("encoder")]
    public TextEncoderInfo? Encoder { get; init; }

    /// <summary>Scale of the (unit-length) hashed text part; beside an encoder it sets how much n-grams count against the embedding.</summary>
    [JsonPropertyName("hashedWeight")]
    public float HashedWeight { get; init; } = 1f;

    /// <summary>Length of the sentence embedding part (0 without an encoder).</summary>
    [JsonIgnore]
    public int EncoderDimension => Encoder?.Dimension ?? 0;

    /// <summary>Whether items may carry text.</summary>
    [JsonIgnore]
    public bool TakesText => TextDimension > 0 || Encoder is not null;

    /// <summary>Length of the vectors produced: numeric features, sentence embedding, hashed text buckets.</summary>
    [JsonIgnore]
    public int OutputDimension => NumericDimension + EncoderDimension + TextDimension;

    /// <summary>The feature layout in words, for error messages and logs.</summary>
    public string Describe()
    {
        var parts = new List<string>();
        if (NumericDimension > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{NumericDimension} numeric features"));
        }

        if (Encoder is { } encoder)
        {
            parts.Add($"the {encoder.Name} text embedding ({encoder.Dimension} values, weights sha256 {encoder.ModelSha256[..12]}...)");
        }

        if (TextDimension > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{TextDimension} hashed text n-gram buckets"));
        }

        return parts.Count == 0 ? "nothing" : string.Join(" + ", parts);
    }

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

        Encoder?.Validate();
        if (!float.IsFinite(HashedWeight) || HashedWeight <= 0 || HashedWeight > 100)
        {
            throw new ArgumentException($"hashedWeight must be in (0, 100], got {HashedWeight.ToString(CultureInfo.InvariantCulture)}.", nameof(HashedWeight));
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
