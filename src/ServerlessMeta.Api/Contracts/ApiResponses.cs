using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using ServerlessMeta.Application.Categories;

namespace ServerlessMeta.Api.Contracts;

// The response bodies of docs/api.md, the one declaration the server writes and the smeta client and the tests read
// (with ApiJson.Options: camelCase). Bodies that are an application result as it is are that result's type:
// create and feedback answer CategoryModelResult, predict PredictionResult, ingest IngestResult, a category
// (get, list items, promote) CategoryDetails (ServerlessMeta.Application.Categories), and a pretraining run's
// status PretrainingRunStatus (ServerlessMeta.Orchestration).

/// <summary>A list route's body: <c>{ "items": [...] }</c>.</summary>
/// <typeparam name="T">The items' type.</typeparam>
public sealed record ItemList<T>(IReadOnlyList<T> Items);

/// <summary>A stored model version of a category (an item of <c>GET /api/categories/{id}/versions</c>).</summary>
/// <param name="Version">Its number.</param>
/// <param name="Algorithm">Its algorithm ("nearest-centroid" when the baseline was stored).</param>
/// <param name="MetaModelVersion">The meta-model it was adapted from; null when adapted from scratch.</param>
/// <param name="CreatedAt">When it was stored.</param>
/// <param name="Metrics">The adaptation's figures, as create answered them; figures it did not measure are left out.</param>
/// <param name="Hyperparameters">How it was adapted (steps, learning rate, the choice).</param>
/// <param name="Size">Bytes of its model file.</param>
/// <param name="Sha256">SHA-256 of its model file (hex).</param>
/// <param name="Serving">True for the version predict uses when none is named.</param>
public sealed record VersionResponse(
    int Version,
    string Algorithm,
    int? MetaModelVersion,
    DateTimeOffset CreatedAt,
    [property: JsonConverter(typeof(OmitNullFigures))] AdaptationMetrics Metrics,
    IReadOnlyDictionary<string, string> Hyperparameters,
    long Size,
    string Sha256,
    bool Serving);

/// <summary>Writes a version's <see cref="AdaptationMetrics"/> without the figures it did not measure (null ones); reads them back.</summary>
public sealed class OmitNullFigures : JsonConverter<AdaptationMetrics>
{
    private static readonly ConditionalWeakTable<JsonSerializerOptions, JsonSerializerOptions> WithoutNulls = new();

    /// <inheritdoc/>
    public override AdaptationMetrics? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JsonSerializer.Deserialize<AdaptationMetrics>(ref reader, options);

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, AdaptationMetrics value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value, WithoutNulls.GetValue(options, o => new JsonSerializerOptions(o) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull }));
}

/// <summary>A registered meta-model (an item of <c>GET /api/meta-models</c>, newest first).</summary>
/// <param name="Version">Its version.</param>
/// <param name="Algorithm">Its algorithm's wire name.</param>
/// <param name="CreatedAt">When it was registered.</param>
/// <param name="Metrics">What pretraining measured (held-out test accuracy, baseline, ...).</param>
/// <param name="Lineage">Where it came from.</param>
/// <param name="Serving">True for the newest: the one new categories adapt.</param>
/// <param name="Size">Bytes of its model file.</param>
/// <param name="Sha256">SHA-256 of its model file (hex).</param>
public sealed record MetaModelResponse(
    int Version,
    string Algorithm,
    DateTimeOffset CreatedAt,
    IReadOnlyDictionary<string, double> Metrics,
    MetaModelLineage Lineage,
    bool Serving,
    long Size,
    string Sha256);

/// <summary>A meta-model's lineage: the pretraining run, the data snapshot, its iterations and hyperparameters.</summary>
public sealed record MetaModelLineage(string PretrainingRunId, string DataSnapshotId, long Iterations, IReadOnlyDictionary<string, string> Hyperparameters);

/// <summary>The answer of <c>POST /api/pretraining</c> (202) and of <c>DELETE /api/pretraining/{instanceId}</c>.</summary>
/// <param name="InstanceId">The run's orchestration instance id.</param>
/// <param name="StatusUri">Absolute URI of its status route.</param>
public sealed record PretrainingAccepted(string InstanceId, string StatusUri);

/// <summary>The body of <c>GET /api/health</c>.</summary>
/// <param name="Status">"healthy" or "unhealthy" (then the status code is 503).</param>
/// <param name="Storage">Whether storage answered.</param>
/// <param name="ServingMetaModel">The meta-model new categories adapt; null when none is registered.</param>
/// <param name="BuildVersion">The service's build.</param>
/// <param name="Time">The server's clock.</param>
public sealed record HealthResponse(string Status, StorageHealth Storage, ServingMetaModel? ServingMetaModel, string BuildVersion, DateTimeOffset Time);

/// <summary>Storage as health sees it; <paramref name="Error"/> is in the service's words, never the storage service's.</summary>
public sealed record StorageHealth(bool Reachable, string? Error);

/// <summary>The serving meta-model's version and algorithm.</summary>
public sealed record ServingMetaModel(int Version, string? Algorithm);
