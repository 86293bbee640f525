using System.Text.Json.Serialization;

namespace ServerlessMeta.Learning.Algorithms;

/// <summary>The six meta-learning algorithms. Their wire names are the lower-case names below.</summary>
[JsonConverter(typeof(MetaAlgorithmJsonConverter))]
public enum MetaAlgorithm
{
    /// <summary>Model-Agnostic Meta-Learning, second order (Finn et al., 2017).</summary>
    Maml,

    /// <summary>First-order MAML: the query gradient at the adapted weights, no second derivatives.</summary>
    FoMaml,

    /// <summary>Reptile (Nichol et al., 2018): move the initialisation toward task-adapted weights.</summary>
    Reptile,

    /// <summary>Meta-SGD (Li et al., 2017): MAML with learned per-parameter inner learning rates.</summary>
    MetaSgd,

    /// <summary>Prototypical Networks (Snell et al., 2017): squared Euclidean distance to class means.</summary>
    ProtoNet,

    /// <summary>Matching Networks (Vinyals et al., 2016): cosine attention over the support set.</summary>
    MatchingNet,
}

public static class MetaAlgorithms
{
    public static IReadOnlyList<MetaAlgorithm> All { get; } = Enum.GetValues<MetaAlgorithm>();

    /// <summary>Algorithms that adapt by gradient steps (and so also do regression).</summary>
    public static bool IsGradientBased(this MetaAlgorithm algorithm) =>
        algorithm is MetaAlgorithm.Maml or MetaAlgorithm.FoMaml or MetaAlgorithm.Reptile or MetaAlgorithm.MetaSgd;

    public static string ToWireName(this MetaAlgorithm algorithm) => algorithm switch
    {
        MetaAlgorithm.Maml => "maml",
        MetaAlgorithm.FoMaml => "fomaml",
        MetaAlgorithm.Reptile => "reptile",
        MetaAlgorithm.MetaSgd => "metasgd",
        MetaAlgorithm.ProtoNet => "protonet",
        MetaAlgorithm.MatchingNet => "matchingnet",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    public static bool TryParse(string? name, out MetaAlgorithm algorithm)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.ToWireName(), name, StringComparison.OrdinalIgnoreCase))
            {
                algorithm = candidate;
                return true;
            }
        }

        algorithm = default;
        return false;
    }

    public static MetaAlgorithm Parse(string? name) =>
        TryParse(name, out var algorithm)
            ? algorithm
            : throw new ArgumentException(
                $"Unknown algorithm '{name}'. Known: {string.Join(", ", All.Select(a => a.ToWireName()))}.", nameof(name));
}

internal sealed class MetaAlgorithmJsonConverter : JsonConverter<MetaAlgorithm>
{
    public override MetaAlgorithm Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options)
    {
        var name = reader.GetString();
        return MetaAlgorithms.TryParse(name, out var algorithm)
            ? algorithm
            : throw new System.Text.Json.JsonException($"Unknown algorithm '{name}'.");
    }

    public override void Write(System.Text.Json.Utf8JsonWriter writer, MetaAlgorithm value, System.Text.Json.JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.ToWireName());
    }
}
