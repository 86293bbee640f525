using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace ServerlessMeta.Api;

/// <summary>An RFC 9457 problem body; <see cref="Field"/> names the offending JSON field, route value or header.</summary>
public sealed record ProblemBody(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("title")] string Title,
    [property: JsonPropertyName("status")] int Status,
    [property: JsonPropertyName("detail")] string Detail,
    [property: JsonPropertyName("field")] string? Field,
    [property: JsonPropertyName("instance")] string? Instance);

/// <summary>Builds problem+json results; both hosts (and the local host's key check) use it.</summary>
public static class ApiProblems
{
    public const string ContentType = "application/problem+json";

    private const string TypeBase = "https://serverlessmeta.dev/problems/";

    public static IResult Validation(HttpRequest request, string detail, string? field) =>
        Create(request, StatusCodes.Status400BadRequest, "validation", "The request is invalid.", detail, field);

    public static IResult NotFound(HttpRequest request, string detail, string field) =>
        Create(request, StatusCodes.Status404NotFound, "not-found", "The resource does not exist.", detail, field);

    public static IResult Conflict(HttpRequest request, string detail, string? field) =>
        Create(request, StatusCodes.Status409Conflict, "conflict", "The request conflicts with the current state.", detail, field);

    public static IResult TooLarge(HttpRequest request, long limit) =>
        Create(request, StatusCodes.Status413PayloadTooLarge, "body-too-large", "The request body is too large.", $"The body exceeds the limit of {limit} bytes.", "body");

    public static IResult UnsupportedMediaType(HttpRequest request, string contentType) =>
        Create(request, StatusCodes.Status415UnsupportedMediaType, "unsupported-media-type", "The body must be JSON.", $"Content-Type '{contentType}' is not JSON; send application/json.", "Content-Type");

    public static IResult Unauthorized(HttpRequest request, string detail) =>
        Create(request, StatusCodes.Status401Unauthorized, "unauthorized", "A valid key is required.", detail, "x-functions-key");

    /// <summary>
    /// The version asked for (or, without one, the serving version and every older one) is missing or fails its
    /// checksum: 409, since the category's stored state must change (promote or roll back to a good version).
    /// </summary>
    public static IResult ModelIntegrity(HttpRequest request, string detail) =>
        Create(request, StatusCodes.Status409Conflict, "model-integrity", "The stored model failed verification.", detail, "version");

    /// <summary>
    /// Storage did not answer within the request's deadline, or said it cannot answer now: 503 with
    /// <c>Retry-After</c>. The request may or may not have taken effect (a retried create answers 409 if it did).
    /// </summary>
    public static IResult StorageUnavailable(HttpRequest request, string detail, TimeSpan retryAfter)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Create(request, StatusCodes.Status503ServiceUnavailable, "storage-unavailable", "Storage is unavailable.", detail, null);
    }

    public static IResult ServerError(HttpRequest request, string detail) =>
        Create(request, StatusCodes.Status500InternalServerError, "server-error", "The server failed to handle the request.", detail, null);

    public static IResult Create(HttpRequest request, int status, string type, string title, string detail, string? field)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = new ProblemBody(TypeBase + type, title, status, detail, field, request.Path.Value);
        return Results.Json(body, ApiJson.Options, ContentType, status);
    }
}

/// <summary>Thrown inside a handler to answer with a problem at once.</summary>
internal sealed class ApiProblemException(IResult result) : Exception
{
    public IResult Result { get; } = result;
}
