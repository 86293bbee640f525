using ServerlessMeta.Application.Categories;
using ServerlessMeta.Learning;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application.IntegrationTests;

/// <summary>The one set of checks create, feedback, ingest and predict share: each names the JSON field at fault.</summary>
public sealed class RequestValidatorTests
{
    [Fact]
    public void ExamplesAreReadWithTrimmedLabels()
    {
        var examples = RequestValidator.Examples([new ExampleInput([1, 2], null, " red "), new ExampleInput(null, "blue hat", "blue")], "examples");

        Assert.Equal(["red", "blue"], examples.Select(e => e.Label));
        Assert.Equal([1f, 2f], examples[0].Features);
        Assert.Equal("blue hat", examples[1].Text);
    }

    [Theory]
    [InlineData("missing", "examples")]
    [InlineData("empty", "examples")]
    [InlineData("null-item", "examples[1]")]
    [InlineData("no-label", "examples[1].label")]
    [InlineData("blank-label", "examples[1].label")]
    [InlineData("long-label", "examples[1].label")]
    [InlineData("control-label", "examples[1].label")]
    [InlineData("empty-item", "examples[1]")]
    [InlineData("infinite-feature", "examples[1].features")]
    [InlineData("long-text", "examples[1].text")]
    public void ABadExampleIsRefusedOnItsField(string fault, string field)
    {
        List<ExampleInput?> examples = [new ExampleInput([1, 2], null, "red"), new ExampleInput([3, 4], null, "blue")];
        var input = fault switch
        {
            "missing" => null,
            "empty" => [],
            "null-item" => [examples[0], null],
            "no-label" => [examples[0], examples[1]! with { Label = null }],
            "blank-label" => [examples[0], examples[1]! with { Label = "  " }],
            "long-label" => [examples[0], examples[1]! with { Label = new string('x', DatasetStore.MaxLabelLength + 1) }],
            "control-label" => [examples[0], examples[1]! with { Label = "a\u0001b" }],
            "empty-item" => [examples[0], new ExampleInput(null, " ", "blue")],
            "infinite-feature" => [examples[0], examples[1]! with { Features = [1, float.PositiveInfinity] }],
            "long-text" => [examples[0], new ExampleInput(null, new string('t', 100_000), "blue")],
            _ => examples,
        };

        var error = Assert.Throws<ArgumentException>(() => RequestValidator.Examples(input, "examples"));

        Assert.Equal(field, error.ParamName);
    }

    [Fact]
    public void DeclaredLabelsAreTrimmedAndNoneMayBeEmpty()
    {
        Assert.Null(RequestValidator.DeclaredLabels(null));
        Assert.Equal(["a", "b"], RequestValidator.DeclaredLabels([" a", "b "]));
        Assert.Equal("labels[1]", Assert.Throws<ArgumentException>(() => RequestValidator.DeclaredLabels(["a", " "])).ParamName);
    }

    [Fact]
    public void TheLabelLimitCountsTheCategorysLabelsAndTheNewOnesTogether()
    {
        var existing = Enumerable.Range(0, Limits.MaxLabels - 1).Select(i => $"l{i}").ToList();
        var one = RequestValidator.Examples([new ExampleInput(null, "x", "new")], "examples");
        var again = RequestValidator.Examples([new ExampleInput(null, "x", "l0")], "examples");
        var two = RequestValidator.Examples([new ExampleInput(null, "x", "new"), new ExampleInput(null, "y", "newer")], "examples");

        RequestValidator.CheckLabelLimit(existing, one, "examples");
        RequestValidator.CheckLabelLimit(existing, again, "examples");
        var error = Assert.Throws<ArgumentException>(() => RequestValidator.CheckLabelLimit(existing, two, "examples"));

        Assert.Equal("examples", error.ParamName);
        Assert.Contains($"would have {Limits.MaxLabels + 1} labels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FeatureCountsMustAgreeWithEachOtherAndWithTheCategory()
    {
        var examples = RequestValidator.Examples([new ExampleInput([1, 2], null, "a"), new ExampleInput(null, "text only", "b"), new ExampleInput([3, 4, 5], null, "a")], "examples");
        Assert.Equal("examples[2].features", Assert.Throws<ArgumentException>(() => RequestValidator.CheckFeatureWidth(examples, null, "examples")).ParamName);

        var agreeing = examples.Take(2).ToList();
        RequestValidator.CheckFeatureWidth(agreeing, null, "examples");
        RequestValidator.CheckFeatureWidth(agreeing, 2, "examples");
        Assert.Equal("examples[0].features", Assert.Throws<ArgumentException>(() => RequestValidator.CheckFeatureWidth(agreeing, 3, "examples")).ParamName);
    }

    [Fact]
    public void ItemsAdaptationAndAlgorithmErrorsNameTheirFields()
    {
        Assert.Equal("items", Assert.Throws<ArgumentException>(() => RequestValidator.Items(null, 10)).ParamName);
        Assert.Equal("items", Assert.Throws<ArgumentException>(() => RequestValidator.Items([], 10)).ParamName);
        Assert.Equal("items", Assert.Throws<ArgumentException>(() => RequestValidator.Items([new ItemInput(null, "a"), new ItemInput(null, "b")], 1)).ParamName);
        Assert.Equal("items[1]", Assert.Throws<ArgumentException>(() => RequestValidator.Items([new ItemInput(null, "a"), null], 10)).ParamName);
        Assert.Equal("adaptation.steps", Assert.Throws<ArgumentException>(() => RequestValidator.Adaptation(new AdaptationInput(Steps: -1))).ParamName);
        Assert.Equal("adaptation.learningRate", Assert.Throws<ArgumentException>(() => RequestValidator.Adaptation(new AdaptationInput(LearningRate: -1))).ParamName);
        Assert.Equal("algorithm", Assert.Throws<ArgumentException>(() => RequestValidator.Algorithm("no-such-algorithm")).ParamName);
    }

    [Fact]
    public void AnIdIsValidatedOnceIntoACategoryId()
    {
        Assert.Equal("shoes-1", CategoryId.Parse("shoes-1", "id").Value);
        Assert.Equal("categoryId", Assert.Throws<ArgumentException>(() => CategoryId.Parse("Shoes", "categoryId")).ParamName);
        Assert.Equal("instanceId", Assert.Throws<ArgumentException>(() => Ids.Validate("a/b", "instanceId")).ParamName);
    }
}
