using System.Security.Cryptography;
using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Featurization;

namespace ServerlessMeta.Learning.Tests;

public class FeaturizerTests
{
    private static readonly Featurizer Both = new(new FeaturizerOptions { NumericDimension = 3, TextDimension = 64 });

    [Fact]
    public void MurmurHashMatchesTheReferenceVectors()
    {
        // Published MurmurHash3_x86_32 test vectors.
        Assert.Equal(0u, MurmurHash3.Hash32([], 0));
        Assert.Equal(0x514E28B7u, MurmurHash3.Hash32([], 1));
        Assert.Equal(0x248BFA47u, MurmurHash3.Hash32("hello"u8, 0));
        Assert.Equal(0x2E4FF723u, MurmurHash3.Hash32("The quick brown fox jumps over the lazy dog"u8, 0));
    }

    [Fact]
    public void SameTextGivesTheSameVectorInEveryProcess()
    {
        var vector = Both.Featurize(new CatalogItem([1f, 2f, 3f], "Jade bracelet, hand-carved 8mm beads"));
        // Pinned digest: string.GetHashCode is randomised per process, so any use of it would break this.
        var bytes = new byte[vector.Length * 4];
        Buffer.BlockCopy(vector, 0, bytes, 0, bytes.Length);
        Assert.Equal("5c3ac59be5b6117e", Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]);
    }

    [Fact]
    public void TextPartIsUnitLengthAndNumericPartIsKept()
    {
        var vector = Both.Featurize(new CatalogItem([1f, -2f, 0.5f], "green jade bracelet"));
        Assert.Equal(new[] { 1f, -2f, 0.5f }, vector[..3]);
        var norm = Math.Sqrt(vector[3..].Sum(v => v * v));
        Assert.Equal(1.0, norm, 5);
    }

    [Fact]
    public void TokenizationIsCaseAndPunctuationInsensitive()
    {
        var a = Both.Featurize(new CatalogItem(null, "Jade BRACELET!"));
        var b = Both.Featurize(new CatalogItem(null, "jade, bracelet"));
        Assert.Equal(a, b);
        var c = Both.Featurize(new CatalogItem(null, "bracelet jade"));
        Assert.NotEqual(a, c); // word bigrams keep order information
    }

    [Fact]
    public void ItemsNeedFeaturesOrText()
    {
        var ex = Assert.Throws<ArgumentException>(() => Both.Featurize(new CatalogItem()));
        Assert.Contains("features, text, or both", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void NonFiniteFeaturesAreRejected(float bad)
    {
        var ex = Assert.Throws<ArgumentException>(() => Both.Featurize(new CatalogItem([1f, bad, 3f])));
        Assert.Equal("features", ex.ParamName);
        Assert.Contains("features[1]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongFeatureDimensionIsRejected()
    {
        var ex = Assert.Throws<ArgumentException>(() => Both.Featurize(new CatalogItem([1f, 2f])));
        Assert.Equal("features", ex.ParamName);
        Assert.Contains("expects 3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextOverTheCapIsRejected()
    {
        var text = new string('a', FeaturizerOptions.DefaultMaxTextLength + 1);
        var ex = Assert.Throws<ArgumentException>(() => Both.Featurize(new CatalogItem(null, text)));
        Assert.Equal("text", ex.ParamName);
        Assert.Contains("at most 2000", ex.Message, StringComparison.Ordinal);
        Both.Featurize(new CatalogItem(null, new string('a', FeaturizerOptions.DefaultMaxTextLength)));
    }

    [Fact]
    public void ErrorsInABatchNameTheItemAndField()
    {
        var items = new[] { new CatalogItem([1f, 2f, 3f]), new CatalogItem([1f, float.NaN, 3f]) };
        var ex = Assert.Throws<ArgumentException>(() => Both.FeaturizeMany(items, "examples"));
        Assert.Equal("examples[1].features", ex.ParamName);
    }

    [Fact]
    public void NonAsciiTextIsHashedConsistently()
    {
        var a = Both.Featurize(new CatalogItem(null, "翡翠手镯 Ｊａｄｅ"));
        var b = Both.Featurize(new CatalogItem(null, "翡翠手镯 jade"));
        Assert.Equal(a, b); // full-width letters fold to ASCII
        Assert.Contains(a, v => v != 0);
    }
}
