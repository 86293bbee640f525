using System.Text.Json.Serialization;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Learning.Models;

/// <summary>
/// The network: for regression an MLP input -> hidden widths -> 1 (ReLU); for classification an
/// <see cref="EmbeddingNetwork"/> of the input dimension with one hidden layer of the first width.
/// </summary>
public sealed record ModelConfig
{
    [JsonPropertyName("taskKind")]
    [JsonConverter(typeof(JsonStringEnumConverter<TaskKind>))]
    public required TaskKind TaskKind { get; init; }

    [JsonPropertyName("inputDimension")]
    public required int InputDimension { get; init; }

    [JsonPropertyName("hiddenWidths")]
    public required IReadOnlyList<int> HiddenWidths { get; init; }

    public void Validate()
    {
        if (InputDimension <= 0)
        {
            throw new ArgumentException($"inputDimension must be positive, got {InputDimension}.", nameof(InputDimension));
        }

        if (HiddenWidths.Count == 0 || HiddenWidths.Any(w => w <= 0 || w > 65_536))
        {
            throw new ArgumentException("hiddenWidths needs at least one width, each between 1 and 65536.", nameof(HiddenWidths));
        }
    }

    /// <summary>The network this configuration describes.</summary>
    public IFunctionalNetwork CreateNetwork()
    {
        Validate();
        return TaskKind == TaskKind.Regression
            ? new FunctionalMlp([InputDimension, .. HiddenWidths, 1])
            : new EmbeddingNetwork(InputDimension, HiddenWidths[0]);
    }
}
