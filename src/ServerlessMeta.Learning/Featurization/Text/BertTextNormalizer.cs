using System.Globalization;
using System.Text;

namespace ServerlessMeta.Learning.Featurization.Text;

/// <summary>
/// BERT's uncased text normalisation (Hugging Face <c>BertNormalizer</c> with clean_text,
/// handle_chinese_chars, strip_accents and lowercase), written without ICU so it gives the same result
/// under .NET's invariant globalization mode, where <see cref="string.Normalize()"/> does nothing:
/// NUL, U+FFFD and other-category characters are dropped, whitespace becomes a space, CJK ideographs are
/// padded with spaces, each character is replaced by its canonical decomposition without non-spacing
/// marks (a generated table, AccentFolding.txt, plus the Hangul algorithm), then the text is lower-cased.
/// </summary>
public static class BertTextNormalizer
{
    private static readonly Dictionary<int, string> Folding = LoadFolding();

    public static string Normalize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            var code = rune.Value;
            if (code is 0 or 0xFFFD)
            {
                continue;
            }

            var category = Rune.GetUnicodeCategory(rune);
            if (code is '\t' or '\n' or '\r' or ' ' || category == UnicodeCategory.SpaceSeparator)
            {
                builder.Append(' ');
                continue;
            }

            if (category is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.OtherNotAssigned
                or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate or UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            var cjk = IsCjkIdeograph(code);
            if (cjk)
            {
                builder.Append(' ');
            }

            if (code is >= 0xAC00 and <= 0xD7A3)
            {
                AppendHangul(builder, code);
            }
            else if (Folding.TryGetValue(code, out var folded))
            {
                builder.Append(folded);
            }
            else
            {
                builder.Append(rune.ToString());
            }

            if (cjk)
            {
                builder.Append(' ');
            }
        }

        return builder.ToString().ToLowerInvariant();
    }

    /// <summary>The CJK Unified Ideographs blocks BERT pads with spaces (so each becomes a token of its own).</summary>
    public static bool IsCjkIdeograph(int code) =>
        code is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    /// <summary>Unicode's algorithmic decomposition of a precomposed Hangul syllable into its jamo.</summary>
    private static void AppendHangul(StringBuilder builder, int code)
    {
        const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, VCount = 21, TCount = 28;
        var index = code - SBase;
        builder.Append((char)(LBase + (index / (VCount * TCount))));
        builder.Append((char)(VBase + (index % (VCount * TCount) / TCount)));
        if (index % TCount is var t and > 0)
        {
            builder.Append((char)(TBase + t));
        }
    }

    private static Dictionary<int, string> LoadFolding()
    {
        using var stream = typeof(BertTextNormalizer).Assembly.GetManifestResourceStream("ServerlessMeta.Learning.AccentFolding.txt")
            ?? throw new InvalidOperationException("The accent folding table is missing from the assembly.");
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var table = new Dictionary<int, string>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var target = new StringBuilder();
            foreach (var part in parts.Skip(1))
            {
                target.Append(char.ConvertFromUtf32(int.Parse(part, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
            }

            table[int.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture)] = target.ToString();
        }

        return table;
    }
}
