using System.Text.Json;
using System.Text.Json.Serialization;

namespace ServerlessMeta.Api;

/// <summary>
/// JSON of the API: camelCase, strict numbers (no numbers in strings, no NaN), unknown members ignored, enums as
/// camelCase strings. The server writes and reads with it; a client reading the response records should too.
/// </summary>
public static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.Strict,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        AllowDuplicateProperties = false,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}

/// <summary>An item as sent: numeric features (read as doubles so out-of-range values are caught, not rounded to infinity silently), text, or both.</summary>
internal sealed record ItemBody(string? Text, double[]? Features);

/// <summary>A labelled item as sent.</summary>
internal sealed record ExampleBody(string? Text, double[]? Features, string? Label);

internal sealed record AdaptationBody(int? Steps, double? LearningRate);

internal sealed record CreateCategoryBody(string? CategoryId, List<ExampleBody?>? Examples, List<string?>? Labels, string? Algorithm, AdaptationBody? Adaptation, bool? CaseSensitiveLabels = null);

internal sealed record PredictBody(List<ItemBody?>? Items, int? Version);

internal sealed record FeedbackBody(List<ExampleBody?>? Examples, AdaptationBody? Adaptation, bool? CaseSensitiveLabels = null);

internal sealed record ExamplesBody(List<ExampleBody?>? Examples, bool? CaseSensitiveLabels = null);

/// <summary>The optional body of <c>POST /api/pretraining</c>: any field left out takes the plan's default.</summary>
internal sealed record PretrainingBody(
    string? RunId,
    string? Algorithm,
    int? Rounds,
    int? MetaBatchSize,
    int? Ways,
    int? Shots,
    int? QueriesPerClass,
    int? Shards,
    long? Seed,
    int? CheckpointPeriod,
    string? DataSnapshotId,
    int? LocalSteps,
    int? ValidationInterval,
    int? ValidationEpisodes,
    int? TestEpisodes,
    int? HiddenWidth,
    double? InnerLearningRate,
    int? InnerSteps,
    double? OuterLearningRate,
    string? TextEncoder = null,
    int? EmbeddingChunkSize = null);
