using Microsoft.ML.Tokenizers;

namespace ServerlessMeta.Learning.Featurization.Text;

/// <summary>
/// BERT's uncased WordPiece tokenization as Hugging Face's <c>BertTokenizer</c> does it for
/// all-MiniLM-L6-v2: control characters removed, lower-case, accents stripped (NFD, non-spacing marks
/// dropped), split on whitespace and punctuation, CJK characters one by one, WordPiece with <c>##</c>
/// continuations (words over 100 characters become [UNK]), then [CLS] ... [SEP]. Texts longer than
/// <see cref="MaxTokens"/> are truncated with [SEP] kept at the end. Thread-safe.
/// </summary>
public sealed class BertWordPieceTokenizer
{
    public const int ClsId = 101;
    public const int SepId = 102;
    public const int UnknownId = 100;

    private readonly BertTokenizer _tokenizer;

    /// <param name="vocab">The vocabulary, one token per line (its position is its id).</param>
    /// <param name="maxTokens">Most ids per text, [CLS] and [SEP] included.</param>
    public BertWordPieceTokenizer(Stream vocab, int maxTokens = 256)
    {
        ArgumentNullException.ThrowIfNull(vocab);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 3);
        MaxTokens = maxTokens;
        _tokenizer = BertTokenizer.Create(vocab, new BertOptions
        {
            LowerCaseBeforeTokenization = true,
            ApplyBasicTokenization = true,
            RemoveNonSpacingMarks = false,
            IndividuallyTokenizeCjk = true,
            SplitOnSpecialTokens = false,
        });
    }

    public int MaxTokens { get; }

    /// <summary>The ids of one text: [CLS], at most <see cref="MaxTokens"/> − 2 WordPiece ids, [SEP].</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Normalised here, not by the library: under invariant globalization its accent stripping does nothing.
        var ids = _tokenizer.EncodeToIds(BertTextNormalizer.Normalize(text), addSpecialTokens: false, considerPreTokenization: true, considerNormalization: true);
        var kept = Math.Min(ids.Count, MaxTokens - 2);
        var result = new int[kept + 2];
        result[0] = ClsId;
        for (var i = 0; i < kept; i++)
        {
            result[i + 1] = ids[i];
        }

        result[^1] = SepId;
        return result;
    }

    /// <summary>The token strings of ids (for diagnostics and tests).</summary>
    public string Decode(IEnumerable<int> ids) => _tokenizer.Decode(ids) ?? string.Empty;
}
