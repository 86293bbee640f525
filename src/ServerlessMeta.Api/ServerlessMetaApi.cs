using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ServerlessMeta.Api.Contracts;
using ServerlessMeta.Application;
using ServerlessMeta.Application.Categories;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Api;

/// <summary>
/// The HTTP handlers, shared verbatim by the Functions app and the local host: parse and validate,
/// call an application service, shape the response. A client's mistake gets problem+json (RFC 9457)
/// naming the field, and nothing is stored.
/// </summary>
public sealed partial class ServerlessMetaApi(CategoryService categories, PretrainingService pretraining, IOptions<ApiOptions> options, TimeProvider time, ILogger<ServerlessMetaApi> logger)
{
    private readonly ApiOptions _options = options.Value;

    public Task<IResult> CreateCategoryAsync(HttpRequest request, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
    {
        var body = await ReadBodyAsync<CreateCategoryBody>(request, required: true, cancellationToken).ConfigureAwait(false);
        var categoryId = CategoryId.Parse(body!.CategoryId ?? throw new ArgumentException("categoryId is required.", "categoryId"), "categoryId");
        var examples = Examples(body.Examples);
        var result = await categories.CreateAsync(new CreateCategoryCommand(categoryId, examples, body.Algorithm, Adaptation(body.Adaptation), body.CaseSensitiveLabels ?? false, body.Labels), cancellationToken).ConfigureAwait(false);
        request.HttpContext.Response.Headers.Location = $"/{ApiRoutes.Prefix}/categories/{categoryId}";
        return Json(result, StatusCodes.Status201Created);
    });

    public Task<IResult> ListCategoriesAsync(HttpRequest request, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
    {
        var list = await categories.ListAsync(cancellationToken).ConfigureAwait(false);
        return Json(new ItemList<CategoryDetails>(list), StatusCodes.Status200OK);
    });

    public Task<IResult> GetCategoryAsync(HttpRequest request, string id, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
        Json(await categories.GetAsync(Id(id), cancellationToken).ConfigureAwait(false), StatusCodes.Status200OK));

    public Task<IResult> PredictAsync(HttpRequest request, string id, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
    {
        var categoryId = Id(id);
        var body = await ReadBodyAsync<PredictBody>(request, required: true, cancellationToken).ConfigureAwait(false);
        var items = body!.Items?.Select((item, i) => item is null ? null : new ItemInput(Features(item.Features, $"items[{i}].features"), item.Text)).ToList();
        try
        {
            return Json(await categories.PredictAsync(categoryId, items, body.Version, cancellationToken).ConfigureAwait(false), StatusCodes.Status200OK);
        }
        catch (Exception e) when (body.Version is null && ServiceFailure.Classify(e, cancellationToken) is { Kind: ServiceFailureKind.VersionNotFound } failure)
        {
            throw new ApiProblemException(ApiProblems.NotFound(request, failure.Message, "id"));
        }
    });

    public Task<IResult> FeedbackAsync(HttpRequest request, string id, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
    {
        var categoryId = Id(id);
        var body = await ReadBodyAsync<FeedbackBody>(request, required: true, cancellationToken).ConfigureAwait(false);
        var result = await categories.AddFeedbackAsync(categoryId, Examples(body!.Examples), Adaptation(body.Adaptation), body.CaseSensitiveLabels ?? false, cancellationToken).ConfigureAwait(false);
        request.HttpContext.Response.Headers.Location = string.Create(CultureInfo.InvariantCulture, $"/{ApiRoutes.Prefix}/categories/{id}/versions/{result.Version}/model");
        return Json(result, StatusCodes.Status201Created);
    });

    public Task<IResult> AddExamplesAsync(HttpRequest request, string id, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
    {
        var categoryId = Id(id);
        var body = await ReadBodyAsync<ExamplesBody>(request, required: true, cancellationToken).ConfigureAwait(false);
        var result = await categories.IngestAsync(categoryId, Examples(body!.Examples), body.CaseSensitiveLabels ?? false, cancellationToken).ConfigureAwait(false);
        if (result.Created)
        {
            request.HttpContext.Response.Headers.Location = $"/{ApiRoutes.Prefix}/categories/{id}";
        }

        return Json(result, result.Created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    });

    public Task<IResult> ListVersionsAsync(HttpRequest request, string id, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
    {
        var categoryId = Id(id);
        var category = await categories.GetAsync(categoryId, cancellationToken).ConfigureAwait(false);
        var versions = await categories.ListVersionsAsync(categoryId, cancellationToken).ConfigureAwait(false);
        return Json(new ItemList<VersionResponse>([.. versions.Select(v => new VersionResponse(
            v.Version,
            v.Algorithm,
            v.MetaModelVersion,
            v.CreatedAt,
            v.Metrics,
            v.Hyperparameters,
            v.Size,
            v.Sha256,
            Serving: v.Version == category.ServingVersion))]), StatusCodes.Status200OK);
    });

    public Task<IResult> DownloadModelAsync(HttpRequest request, string id, string version, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
    {
        var categoryId = Id(id);
        var number = Version(version);
        await categories.GetAsync(categoryId, cancellationToken).ConfigureAwait(false);
        var download = await categories.DownloadModelAsync(categoryId, number, cancellationToken).ConfigureAwait(false);
        request.HttpContext.Response.Headers.ETag = $"\"{download.Sha256}\"";
        request.HttpContext.Response.Headers["x-smeta-sha256"] = download.Sha256;
        return Results.File(download.Content, "application/octet-stream", string.Create(CultureInfo.InvariantCulture, $"{id}-v{number}.smeta"));
    });

    public Task<IResult> PromoteAsync(HttpRequest request, string id, string version, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
    {
        var categoryId = Id(id);
        var number = Version(version);
        try
        {
            return Json(await categories.PromoteAsync(categoryId, number, cancellationToken).ConfigureAwait(false), StatusCodes.Status200OK);
        }
        catch (Exception e) when (ServiceFailure.Classify(e, cancellationToken) is { Kind: ServiceFailureKind.Integrity } failure)
        {
            // Promote refuses a version whose blob is missing or fails its checksum: nothing is moved.
            return ApiProblems.Conflict(request, failure.Message, "version");
        }
    });

    public Task<IResult> StartPretrainingAsync(HttpRequest request, IPretrainingRuns runs, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
    {
        ArgumentNullException.ThrowIfNull(runs);
        var body = await ReadBodyAsync<PretrainingBody>(request, required: false, cancellationToken).ConfigureAwait(false);
        var plan = Plan(body);
        plan.Validate();
        if (await pretraining.CheckDataAsync(plan, cancellationToken).ConfigureAwait(false) is { } shortage)
        {
            throw new ApiProblemException(ApiProblems.Conflict(request, shortage, "data"));
        }

        var instanceId = await runs.StartAsync(plan, null, cancellationToken).ConfigureAwait(false);
        var statusUri = StatusUri(request, instanceId);
        request.HttpContext.Response.Headers.Location = statusUri;
        LogPretrainingStarted(logger, instanceId, plan.Algorithm, plan.Rounds);
        return Json(new PretrainingAccepted(instanceId, statusUri), StatusCodes.Status202Accepted);
    });

    public Task<IResult> GetPretrainingAsync(HttpRequest request, IPretrainingRuns runs, string instanceId, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
    {
        ArgumentNullException.ThrowIfNull(runs);
        Ids.Validate(instanceId, "instanceId");
        var status = await runs.GetAsync(instanceId, cancellationToken).ConfigureAwait(false)
            ?? throw new ApiProblemException(ApiProblems.NotFound(request, $"No pretraining run '{instanceId}'.", "instanceId"));
        return Json(status, StatusCodes.Status200OK);
    });

    public Task<IResult> TerminatePretrainingAsync(HttpRequest request, IPretrainingRuns runs, string instanceId, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
    {
        ArgumentNullException.ThrowIfNull(runs);
        Ids.Validate(instanceId, "instanceId");
        if (!await runs.TerminateAsync(instanceId, "Terminated through the API.", cancellationToken).ConfigureAwait(false))
        {
            throw new ApiProblemException(ApiProblems.NotFound(request, $"No pretraining run '{instanceId}'.", "instanceId"));
        }

        var statusUri = StatusUri(request, instanceId);
        request.HttpContext.Response.Headers.Location = statusUri;
        return Json(new PretrainingAccepted(instanceId, statusUri), StatusCodes.Status202Accepted);
    });

    public Task<IResult> ListMetaModelsAsync(HttpRequest request, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, async cancellationToken =>
    {
        var versions = await categories.ListMetaModelsAsync(cancellationToken).ConfigureAwait(false);
        return Json(new ItemList<MetaModelResponse>([.. versions.Select((v, i) => new MetaModelResponse(
            v.Version,
            v.Algorithm,
            v.CreatedAt,
            v.Metrics,
            new MetaModelLineage(v.PretrainingRunId, v.DataSnapshotId, v.Iterations, v.Hyperparameters),
            Serving: i == 0,
            v.Size,
            v.Sha256))]), StatusCodes.Status200OK);
    });

    public Task<IResult> HealthAsync(HttpRequest request, CancellationToken cancellationToken) => HandleAsync(request, cancellationToken, _options.HealthTimeout, async deadline =>
    {
        // Health gives its own verdict within HealthTimeout, never the generic 503, and no storage error text
        // (anonymous callers may read it); the log has the details.
        HealthReport health;
        try
        {
            health = await categories.CheckHealthAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            health = new HealthReport(false, $"storage: no answer within {Seconds(_options.HealthTimeout)}", null, null, CategoryService.BuildVersion);
        }

        return Json(
            new HealthResponse(
                health.StorageReachable ? "healthy" : "unhealthy",
                new StorageHealth(health.StorageReachable, health.StorageError),
                health.ServingMetaModelVersion is { } v ? new ServingMetaModel(v, health.ServingMetaModelAlgorithm) : null,
                health.BuildVersion,
                time.GetUtcNow()),
            health.StorageReachable ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    });

    /// <summary>The absolute URI of a pretraining run's status route.</summary>
    private static string StatusUri(HttpRequest request, string instanceId) =>
        $"{request.Scheme}://{request.Host}/{ApiRoutes.Prefix}/pretraining/{instanceId}";

    private static IResult Json(object value, int status) => Results.Json(value, ApiJson.Options, statusCode: status);


    private static CategoryId Id(string id) => CategoryId.Parse(id, "id");

    private static int Version(string version) =>
        int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number >= 1
            ? number
            : throw new ArgumentException($"version must be a positive integer, got '{version}'.", "version");

    /// <summary>The examples as sent (missing or null ones are left for the service's checks to name).</summary>
    private static List<ExampleInput?>? Examples(List<ExampleBody?>? examples) =>
        examples?.Select((e, i) => e is null ? null : new ExampleInput(Features(e.Features, $"examples[{i}].features"), e.Text, e.Label)).ToList();

    /// <summary>Doubles to floats, refusing values a float cannot hold (they would become infinity).</summary>
    private static float[]? Features(double[]? features, string field)
    {
        if (features is null || features.Length == 0)
        {
            return null;
        }

        var result = new float[features.Length];
        for (var j = 0; j < features.Length; j++)
        {
            if (!double.IsFinite(features[j]) || Math.Abs(features[j]) > float.MaxValue)
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{field}[{j}] = {features[j]:R} is outside the range of a 32-bit float."), field);
            }

            result[j] = (float)features[j];
        }

        return result;
    }

    private static AdaptationInput? Adaptation(AdaptationBody? body) => body is null ? null : new AdaptationInput(body.Steps, body.LearningRate);

    private PretrainingPlan Plan(PretrainingBody? body)
    {
        var defaults = new PretrainingPlan { RunId = "defaults", Algorithm = "protonet" };
        var runId = body?.RunId ?? string.Create(CultureInfo.InvariantCulture, $"run-{time.GetUtcNow():yyyyMMdd-HHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}");
        return new PretrainingPlan
        {
            RunId = runId,
            Algorithm = body?.Algorithm ?? defaults.Algorithm,
            Rounds = body?.Rounds ?? defaults.Rounds,
            MetaBatchSize = body?.MetaBatchSize ?? defaults.MetaBatchSize,
            Ways = body?.Ways ?? defaults.Ways,
            Shots = body?.Shots ?? defaults.Shots,
            QueriesPerClass = body?.QueriesPerClass ?? defaults.QueriesPerClass,
            Shards = body?.Shards ?? pretraining.DefaultShards(body?.MetaBatchSize ?? defaults.MetaBatchSize),
            Seed = body?.Seed ?? defaults.Seed,
            CheckpointPeriod = body?.CheckpointPeriod ?? defaults.CheckpointPeriod,
            DataSnapshotId = body?.DataSnapshotId,
            LocalSteps = body?.LocalSteps ?? defaults.LocalSteps,
            ValidationInterval = body?.ValidationInterval ?? defaults.ValidationInterval,
            ValidationEpisodes = body?.ValidationEpisodes ?? defaults.ValidationEpisodes,
            TestEpisodes = body?.TestEpisodes ?? defaults.TestEpisodes,
            HiddenWidth = body?.HiddenWidth ?? defaults.HiddenWidth,
            InnerLearningRate = body?.InnerLearningRate,
            InnerSteps = body?.InnerSteps,
            OuterLearningRate = body?.OuterLearningRate,
            TextEncoder = body?.TextEncoder ?? pretraining.DefaultTextEncoder,
            EmbeddingChunkSize = body?.EmbeddingChunkSize ?? defaults.EmbeddingChunkSize,
        };
    }

    /// <summary>Reads the body up to the configured limit (413 beyond) and parses it (400 naming the JSON path on failure).</summary>
    private async Task<T?> ReadBodyAsync<T>(HttpRequest request, bool required, CancellationToken cancellationToken)
        where T : class
    {
        var limit = _options.MaxRequestBodyBytes;
        if (request.ContentLength > limit)
        {
            throw new ApiProblemException(ApiProblems.TooLarge(request, limit));
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        try
        {
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    throw new ApiProblemException(ApiProblems.TooLarge(request, limit));
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (OperationCanceledException e) when (!request.HttpContext.RequestAborted.IsCancellationRequested && cancellationToken.IsCancellationRequested)
        {
            // Our deadline passed while the body was still arriving: the client's slowness, not storage's.
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The request body did not arrive within {Seconds(_options.RequestTimeout)} ({buffer.Length} bytes were read)."), "body", e);
        }
        catch (BadHttpRequestException e) when (e.StatusCode != StatusCodes.Status413PayloadTooLarge)
        {
            // The body ended before its Content-Length, or arrived too slowly: the client's fault, not ours.
            var declared = request.ContentLength is { } length ? string.Create(CultureInfo.InvariantCulture, $" of the {length} declared") : string.Empty;
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The request body ended early or arrived too slowly ({buffer.Length} bytes{declared} were read)."), "body", e);
        }

        if (buffer.Length == 0)
        {
            return required ? throw new ArgumentException("A JSON body is required.", "body") : null;
        }

        if (request.ContentType is { Length: > 0 } && !request.HasJsonContentType())
        {
            throw new ApiProblemException(ApiProblems.UnsupportedMediaType(request, request.ContentType));
        }

        // A UTF-8 byte-order mark is allowed (some editors and tools write one).
        var json = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        if (json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            json = json[3..];
        }

        try
        {
            return JsonSerializer.Deserialize<T>(json, ApiJson.Options)
                ?? (required ? throw new ArgumentException("The body must be a JSON object, not null.", "body") : null);
        }
        catch (JsonException e) when (e.Message.StartsWith("Duplicate", StringComparison.Ordinal))
        {
            // Two values for one key: refuse rather than silently keep the last.
            var field = e.Path is { Length: > 1 } path ? FieldOf(path) : "body";
            throw new ArgumentException($"{field}: the key appears more than once in the JSON body; send it once.", field, e);
        }
        catch (JsonException e) when (IsTypeMismatch(e) && e.Path is null or "$")
        {
            throw new ArgumentException("The body must be a JSON object ({ ... }), not an array, a string or a number.", "body", e);
        }
        catch (JsonException e) when (e.InnerException is InvalidOperationException && e.Path is { Length: > 2 } invalidPath)
        {
            // A string that cannot become text, such as a lone UTF-16 surrogate escape ("\ud800").
            var field = FieldOf(invalidPath);
            throw new ArgumentException($"{field}: the string is not valid Unicode text (a lone surrogate escape such as \\ud800?).", field, e);
        }
        catch (JsonException e) when (IsTypeMismatch(e) && e.Path is not null and not "$")
        {
            // Well-formed JSON with a value of the wrong type: name the field.
            var field = FieldOf(e.Path);
            throw new ArgumentException($"{field}: the value has the wrong JSON type for this field.", field, e);
        }
        catch (JsonException e)
        {
            // Malformed JSON (syntax, NaN or Infinity tokens, truncation): the body as a whole is at fault.
            var where = e.LineNumber is { } line ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}, byte {e.BytePositionInLine + 1}") : string.Empty;
            throw new ArgumentException($"The body is not valid JSON{where}.", "body", e);
        }
    }

    /// <summary>The request field a JSON path names: <c>$.examples[0].text</c> is <c>examples[0].text</c>.</summary>
    private static string FieldOf(string jsonPath) =>
        jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');

    private static bool IsTypeMismatch(JsonException e) =>
        e.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal);

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1068:CancellationToken parameters must come last", Justification = "The handler lambda reads best last.")]
    private Task<IResult> HandleAsync(HttpRequest request, CancellationToken aborted, Func<CancellationToken, Task<IResult>> handler) =>
        HandleAsync(request, aborted, _options.RequestTimeout, handler);

    /// <summary>
    /// Runs <paramref name="handler"/> under a deadline of <paramref name="timeout"/> (its token is cancelled then, or when
    /// the client goes: <paramref name="aborted"/>) and maps what it throws to problems: a client's mistake to 4xx, storage
    /// that did not answer in time or is unavailable to 503 with Retry-After, anything else to a logged 500.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1068:CancellationToken parameters must come last", Justification = "The handler lambda reads best last.")]
    private async Task<IResult> HandleAsync(HttpRequest request, CancellationToken aborted, TimeSpan timeout, Func<CancellationToken, Task<IResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(aborted, deadline.Token);
        try
        {
            return await handler(linked.Token).ConfigureAwait(false);
        }
        catch (ApiProblemException e)
        {
            return e.Result;
        }
        catch (PretrainingRunConflictException e)
        {
            return ApiProblems.Conflict(request, e.Message, "runId");
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return ApiProblems.TooLarge(request, _options.MaxRequestBodyBytes);
        }
        catch (Exception e) when (ServiceFailure.Classify(e, aborted) is { Kind: not ServiceFailureKind.StorageUnavailable } failure)
        {
            return Problem(request, failure);
        }
        catch (Exception e) when (!aborted.IsCancellationRequested && (deadline.IsCancellationRequested || ServiceFailure.Classify(e, aborted) is { Kind: ServiceFailureKind.StorageUnavailable }))
        {
            // Storage hung past the deadline (the token fired mid-call) or answered that it cannot serve now.
            var detail = deadline.IsCancellationRequested
                ? $"Storage did not answer within the request's deadline of {Seconds(timeout)}."
                : "Storage is unavailable.";
            LogStorageUnavailable(logger, request.Method, request.Path.Value ?? string.Empty, detail, ServiceFailure.DescribeStorageFault(e, timeout), e.GetType().Name);
            return ApiProblems.StorageUnavailable(request, $"{detail} The request may or may not have taken effect; retry after {Seconds(_options.RetryAfter)}.", _options.RetryAfter);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(logger, request.Method, request.Path.Value ?? string.Empty, e);
            return ApiProblems.ServerError(request, "An unexpected error occurred; it has been logged.");
        }
    }

    /// <summary>The problem a service's failure (other than storage being unavailable) is.</summary>
    private IResult Problem(HttpRequest request, ServiceFailure failure)
    {
        switch (failure.Kind)
        {
            case ServiceFailureKind.Invalid:
                return ApiProblems.Validation(request, Clean(failure.Message), failure.Field ?? "body");
            case ServiceFailureKind.CategoryNotFound or ServiceFailureKind.VersionNotFound:
                return ApiProblems.NotFound(request, failure.Message, failure.Field ?? "id");
            case ServiceFailureKind.Integrity:
                LogIntegrity(logger, request.Method, request.Path.Value ?? string.Empty, failure.Message);
                return ApiProblems.ModelIntegrity(request, failure.Message);
            default:
                return ApiProblems.Conflict(request, failure.Message, failure.Field);
        }
    }

    /// <summary>A validation message capped so a problem never echoes a large body.</summary>
    private static string Clean(string message)
    {
        const int MaxDetail = 500;
        return message.Length <= MaxDetail ? message : string.Concat(message.AsSpan(0, MaxDetail), "…");
    }

    [LoggerMessage(EventId = 7603, Level = LogLevel.Error, Message = "{Method} {Path}: no model that verifies: {Reason}")]
    private static partial void LogIntegrity(ILogger logger, string method, string path, string reason);

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    [LoggerMessage(EventId = 7604, Level = LogLevel.Warning, Message = "{Method} {Path}: 503, {Detail} ({Cause}, {ExceptionType})")]
    private static partial void LogStorageUnavailable(ILogger logger, string method, string path, string detail, string cause, string exceptionType);

    [LoggerMessage(EventId = 7601, Level = LogLevel.Error, Message = "{Method} {Path} failed")]
    private static partial void LogFailed(ILogger logger, string method, string path, Exception exception);

    [LoggerMessage(EventId = 7602, Level = LogLevel.Information, Message = "Pretraining {InstanceId} started: {Algorithm}, {Rounds} rounds")]
    private static partial void LogPretrainingStarted(ILogger logger, string instanceId, string algorithm, int rounds);
}
