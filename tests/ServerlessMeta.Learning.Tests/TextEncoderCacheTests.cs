using ServerlessMeta.Learning.Featurization.Text;

namespace ServerlessMeta.Learning.Tests;

public class TextEncoderCacheTests
{
    [Fact]
    public void TheCachePassesOnlyUnseenTextsToTheEncoderInOneBatchAndForgetsTheLeastRecentlyUsed()
    {
        var inner = new FakeEncoder();
        var cache = new CachingTextEncoder(inner, capacity: 2);
        var first = new float[3 * 4];
        cache.Embed(["a", "b", "a"], first);
        Assert.Equal([["a", "b"]], inner.Batches);
        Assert.Equal(FakeEncoder.Vector("a"), first[..4]);
        Assert.Equal(FakeEncoder.Vector("a"), first[8..]);

        cache.Embed(["b", "c"], new float[2 * 4]); // b from the cache; c evicts a (least recently used)
        Assert.Equal(["c"], inner.Batches[^1]);
        var again = new float[2 * 4];
        cache.Embed(["c", "a"], again);
        Assert.Equal(["a"], inner.Batches[^1]);
        Assert.Equal(FakeEncoder.Vector("a"), again[4..]);
        Assert.Equal(2, cache.Hits); // b, then c
    }

    [Fact]
    public void PrecomputedVectorsAnswerAndOnlyTheRestIsEmbedded()
    {
        var inner = new FakeEncoder();
        var encoder = new PrecomputedTextEncoder(inner, new Dictionary<string, float[]> { ["known"] = [9f, 9f, 9f, 9f] });
        var vectors = new float[2 * 4];
        encoder.Embed(["known", "new"], vectors);
        Assert.Equal([9f, 9f, 9f, 9f], vectors[..4]);
        Assert.Equal(FakeEncoder.Vector("new"), vectors[4..]);
        Assert.Equal(1, encoder.FallbackTexts);
        Assert.Equal(["new"], Assert.Single(inner.Batches));
    }

    [Theory]
    [InlineData("Crème Brûlée", "creme brulee")]
    [InlineData("Ångström\tÜBER\r\nnaïve", "angstrom uber  naive")] // each whitespace character becomes a space, as in BERT
    [InlineData("玉手镯", " 玉  手  镯 ")]
    [InlineData("a\u200Bb\u0000c", "abc")] // zero-width space (format) and NUL are dropped
    [InlineData("한국", "\u1112\u1161\u11AB\u1100\u116E\u11A8")] // Hangul syllables decompose into jamo
    public void TheNormalizerStripsAccentsWithoutIcu(string text, string expected) =>
        Assert.Equal(expected, BertTextNormalizer.Normalize(text));

    private sealed class FakeEncoder : ITextEncoder
    {
        public List<string[]> Batches { get; } = [];

        public TextEncoderInfo Info { get; } = new("fake", new string('a', 64), 4);

        public static float[] Vector(string text) => [text.Length, text[0], 1f, 0f];

        public void Embed(IReadOnlyList<string> texts, Span<float> destination)
        {
            Batches.Add([.. texts]);
            for (var i = 0; i < texts.Count; i++)
            {
                Vector(texts[i]).CopyTo(destination.Slice(i * 4, 4));
            }
        }
    }
}
