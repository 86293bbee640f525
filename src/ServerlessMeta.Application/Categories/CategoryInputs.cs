namespace ServerlessMeta.Application.Categories;

/// <summary>A category id that has passed <see cref="Ids.Validate"/>: the services take it as it is, without checking it again.</summary>
public sealed record CategoryId
{
    private CategoryId(string value) => Value = value;

    /// <summary>The id.</summary>
    public string Value { get; }

    /// <summary>The id, or <see cref="ArgumentException"/> naming <paramref name="field"/> when it breaks the id rule.</summary>
    public static CategoryId Parse(string? value, string field) => new(Ids.Validate(value, field));

    /// <inheritdoc/>
    public override string ToString() => Value;
}

/// <summary>An item as a caller sends it: numeric features, text, or both.</summary>
public sealed record ItemInput(IReadOnlyList<float>? Features, string? Text);

/// <summary>A labelled item as a caller sends it (the label may be missing: the checks name it).</summary>
public sealed record ExampleInput(IReadOnlyList<float>? Features, string? Text, string? Label);

/// <summary>Inner-loop steps and learning rate of an adaptation; null fields take the meta-model's defaults.</summary>
public sealed record AdaptationInput(int? Steps = null, double? LearningRate = null);
