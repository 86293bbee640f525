using System.Buffers;
using System.Globalization;
using System.Text;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization.Text;

namespace ServerlessMeta.Learning.Featurization;

/// <summary>
/// Turns catalogue items into fixed-size float vectors: the numeric features as given; then, when the
/// options name a text encoder, the text's sentence embedding (unit length); then a signed hashed bag of
/// text n-grams (words, word bigrams, character n-grams inside words) scaled to length
/// <see cref="FeaturizerOptions.HashedWeight"/>. Hashing is MurmurHash3 (x86, 32-bit) over UTF-8 bytes
/// with a fixed seed, so the same text gives the same vector in every process and on every machine.
/// <see cref="FeaturizeMany"/> embeds all of its texts in one encoder call. Thread-safe.
/// </summary>
public sealed class Featurizer
{
    private readonly ITextEncoder? _encoder;

    /// <param name="options">The layout.</param>
    /// <param name="encoder">The encoder the options name; required when they name one, and it must be that very encoder.</param>
    /// <exception cref="TextEncoderMismatchException">The options need an encoder that was not given, or another one was.</exception>
    public Featurizer(FeaturizerOptions options, ITextEncoder? encoder = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        if (options.Encoder is { } wanted)
        {
            if (encoder is null)
            {
                throw new TextEncoderMismatchException($"These features include the {wanted} text embedding, but no text encoder was given to featurize with.");
            }

            if (encoder.Info != wanted)
            {
                throw new TextEncoderMismatchException($"These features were made with the text encoder {wanted}; the encoder given is {encoder.Info}. Vectors of different encoders cannot be mixed.");
            }

            _encoder = encoder;
        }
    }

    public FeaturizerOptions Options { get; }

    public int OutputDimension => Options.OutputDimension;

    /// <summary>The encoder embedding the text part (null for hashed-only features).</summary>
    public ITextEncoder? Encoder => _encoder;

    /// <summary>Featurizes one item into a new array.</summary>
    public float[] Featurize(CatalogItem item)
    {
        var vector = new float[OutputDimension];
        Featurize(item, vector);
        return vector;
    }

    /// <summary>Featurizes items into one row-major matrix (items x <see cref="OutputDimension"/>).</summary>
    /// <param name="items">The items.</param>
    /// <param name="field">How errors name the list: errors say e.g. "examples[3].features".</param>
    public float[] FeaturizeMany(IReadOnlyList<CatalogItem> items, string field = "items")
    {
        ArgumentNullException.ThrowIfNull(items);
        var matrix = new float[items.Count * OutputDimension];
        var texts = _encoder is null ? null : new List<(int Row, string Text)>();
        for (var i = 0; i < items.Count; i++)
        {
            try
            {
                if (FillWithoutEmbedding(items[i], matrix.AsSpan(i * OutputDimension, OutputDimension)) is { } text)
                {
                    texts?.Add((i, text));
                }
            }
            catch (ArgumentException ex)
            {
                var name = ex.ParamName is "features" or "text" ? $"{field}[{i}].{ex.ParamName}" : $"{field}[{i}]";
                throw new ArgumentException($"{name}: {FieldErrors.MessageOf(ex)}", name, ex);
            }
        }

        if (texts is { Count: > 0 })
        {
            EmbedInto(texts, matrix);
        }

        return matrix;
    }

    /// <summary>Featurizes one item into <paramref name="destination"/>, which must have <see cref="OutputDimension"/> elements.</summary>
    public void Featurize(CatalogItem item, Span<float> destination)
    {
        if (FillWithoutEmbedding(item, destination) is { } text && _encoder is not null)
        {
            _encoder.Embed([text], destination.Slice(Options.NumericDimension, Options.EncoderDimension));
        }
    }

    /// <summary>Checks the item and writes everything but the sentence embedding; returns the text to embed, if any.</summary>
    private string? FillWithoutEmbedding(CatalogItem item, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (destination.Length != OutputDimension)
        {
            throw new ArgumentException($"Destination has {destination.Length} elements; {OutputDimension} expected.", nameof(destination));
        }

        destination.Clear();
        var hasFeatures = item.Features is { Count: > 0 };
        var hasText = !string.IsNullOrWhiteSpace(item.Text);
        if (!hasFeatures && !hasText)
        {
            throw new ArgumentException("An item needs features, text, or both.", nameof(item));
        }

        if (hasFeatures)
        {
            var features = item.Features!;
            if (Options.NumericDimension == 0)
            {
                throw new ArgumentException("This model takes no numeric features; send text only.", "features");
            }

            if (features.Count != Options.NumericDimension)
            {
                throw new ArgumentException(
                    $"features has {features.Count} numbers; this model expects {Options.NumericDimension}.", "features");
            }

            for (var i = 0; i < features.Count; i++)
            {
                var value = features[i];
                if (!float.IsFinite(value))
                {
                    throw new ArgumentException($"features[{i}] is {value.ToString(CultureInfo.InvariantCulture)}; numbers must be finite.", "features");
                }

                destination[i] = value;
            }
        }

        if (!hasText)
        {
            return null;
        }

        var text = item.Text!;
        if (text.Length > Options.MaxTextLength)
        {
            throw new ArgumentException(
                $"text has {text.Length} characters; at most {Options.MaxTextLength} are accepted.", "text");
        }

        if (!Options.TakesText)
        {
            throw new ArgumentException("This model takes no text; send features only.", "text");
        }

        if (Options.TextDimension > 0)
        {
            HashText(text, destination[(Options.NumericDimension + Options.EncoderDimension)..]);
        }

        return text;
    }

    /// <summary>Embeds each distinct text once and copies its vector into every row that carries it.</summary>
    private void EmbedInto(List<(int Row, string Text)> texts, float[] matrix)
    {
        var distinct = new Dictionary<string, int>(StringComparer.Ordinal);
        var unique = new List<string>();
        foreach (var (_, text) in texts)
        {
            if (distinct.TryAdd(text, unique.Count))
            {
                unique.Add(text);
            }
        }

        var dimension = Options.EncoderDimension;
        var vectors = new float[unique.Count * dimension];
        _encoder!.Embed(unique, vectors);
        foreach (var (row, text) in texts)
        {
            vectors.AsSpan(distinct[text] * dimension, dimension)
                .CopyTo(matrix.AsSpan((row * OutputDimension) + Options.NumericDimension, dimension));
        }
    }

    /// <summary>The lower-case word tokens of a text (letters and digits; everything else separates), full-width ASCII folded.</summary>
    public static List<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Fold full-width ASCII (U+FF01..U+FF5E, common in CJK product titles) to ASCII, then lower-case.
        // Deliberately no ICU-based normalisation: it would tie vectors to the machine's ICU version.
        var normalized = string.Create(text.Length, text, static (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                var ch = source[i];
                span[i] = ch is >= '\uFF01' and <= '\uFF5E' ? (char)(ch - 0xFEE0) : ch;
            }
        }).ToLowerInvariant();
        var tokens = new List<string>();
        var start = -1;
        for (var i = 0; i <= normalized.Length; i++)
        {
            var isWordChar = i < normalized.Length && char.IsLetterOrDigit(normalized[i]);
            if (isWordChar && start < 0)
            {
                start = i;
            }
            else if (!isWordChar && start >= 0)
            {
                tokens.Add(normalized[start..i]);
                start = -1;
            }
        }

        return tokens;
    }

    private void HashText(string text, Span<float> buckets)
    {
        var tokens = Tokenize(text);
        for (var t = 0; t < tokens.Count; t++)
        {
            AddFeature(buckets, "w", tokens[t]);
            if (Options.WordBigrams && t > 0)
            {
                AddFeature(buckets, "b", string.Concat(tokens[t - 1], " ", tokens[t]));
            }

            if (Options.CharNGrams.Count > 0)
            {
                var bounded = string.Concat("<", tokens[t], ">");
                foreach (var n in Options.CharNGrams)
                {
                    for (var i = 0; i + n <= bounded.Length; i++)
                    {
                        AddFeature(buckets, "c", bounded.Substring(i, n));
                    }
                }
            }
        }

        double sumOfSquares = 0;
        foreach (var v in buckets)
        {
            sumOfSquares += v * v;
        }

        if (sumOfSquares > 0)
        {
            var scale = (float)(Options.HashedWeight / Math.Sqrt(sumOfSquares));
            for (var i = 0; i < buckets.Length; i++)
            {
                buckets[i] *= scale;
            }
        }
    }

    private void AddFeature(Span<float> buckets, string kind, string value)
    {
        var byteCount = Encoding.UTF8.GetByteCount(value) + kind.Length + 1;
        var rented = ArrayPool<byte>.Shared.Rent(byteCount);
        try
        {
            var written = Encoding.UTF8.GetBytes(kind, rented);
            rented[written++] = (byte)':';
            written += Encoding.UTF8.GetBytes(value, rented.AsSpan(written));
            var hash = MurmurHash3.Hash32(rented.AsSpan(0, written), Options.HashSeed);
            var bucket = (int)(hash % (uint)buckets.Length);
            // One bit of a second, independent hash gives the sign, so collisions cancel on average.
            var sign = (MurmurHash3.Hash32(rented.AsSpan(0, written), ~Options.HashSeed) & 1) == 0 ? 1f : -1f;
            buckets[bucket] += sign;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
