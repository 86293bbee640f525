using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ServerlessMeta.Api.IntegrationTests.Infrastructure;

/// <summary>Assertions on responses that print the whole exchange when they fail.</summary>
internal static class Expect
{
    public const string ProblemMediaType = "application/problem+json";

    /// <summary>The response has status <paramref name="expected"/>.</summary>
    public static ApiResponse HasStatus(this ApiResponse response, int expected)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Status != expected)
        {
            Assert.Fail($"Expected {expected}, got {response.Status}.\n{response}");
        }

        return response;
    }

    /// <summary>A JSON object with status <paramref name="expected"/>.</summary>
    public static JsonObject JsonWithStatus(this ApiResponse response, int expected)
    {
        response.HasStatus(expected);
        if (response.MediaType is not ("application/json" or ProblemMediaType))
        {
            Assert.Fail($"Expected a JSON body (application/json), got content type '{response.MediaType}'.\n{response}");
        }

        return response.Json as JsonObject ?? throw new InvalidOperationException($"Expected a JSON object.\n{response}");
    }

    /// <summary>RFC 9457 problem+json with <paramref name="status"/> and <c>field</c> equal to <paramref name="field"/>.</summary>
    public static JsonObject IsProblem(this ApiResponse response, int status, string field) =>
        response.IsProblem(status, f => string.Equals(f, field, StringComparison.Ordinal), $"'{field}'");

    /// <summary>Problem+json whose <c>field</c> is one of <paramref name="fields"/>.</summary>
    public static JsonObject IsProblem(this ApiResponse response, int status, string[] fields) =>
        response.IsProblem(status, f => f is not null && fields.Contains(f, StringComparer.Ordinal), $"one of {string.Join(", ", fields.Select(f => $"'{f}'"))}");

    /// <summary>Problem+json whose <c>field</c> starts with <paramref name="prefix"/>.</summary>
    public static JsonObject IsProblemOnFieldStartingWith(this ApiResponse response, int status, params string[] prefix) =>
        response.IsProblem(status, f => f is not null && prefix.Any(p => f.StartsWith(p, StringComparison.Ordinal)), $"starting with {string.Join(" or ", prefix.Select(p => $"'{p}'"))}");

    public static JsonObject IsProblem(this ApiResponse response, int status, Func<string?, bool> field, string fieldDescription)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(field);
        if (response.Status != status)
        {
            Assert.Fail($"Expected {status} problem+json with field {fieldDescription}, got {response.Status}.\n{response}");
        }

        if (!string.Equals(response.MediaType, ProblemMediaType, StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail($"Expected content type {ProblemMediaType}, got '{response.MediaType}'.\n{response}");
        }

        if (response.Json is not JsonObject problem)
        {
            Assert.Fail($"Expected a problem object.\n{response}");
            throw new InvalidOperationException();
        }

        if (problem["status"] is not JsonValue statusValue || statusValue.GetValueKind() != JsonValueKind.Number || statusValue.GetValue<int>() != status)
        {
            Assert.Fail($"Expected the problem's \"status\" member to be {status}.\n{response}");
        }

        var actual = problem["field"] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
        if (!field(actual))
        {
            Assert.Fail($"Expected the problem's \"field\" to be {fieldDescription}, got {(actual is null ? "none" : $"'{actual}'")}.\n{response}");
        }

        return problem;
    }

    // ---- JSON member access with readable failures ----

    public static JsonNode Member(this JsonNode node, string name)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (node is not JsonObject obj || !obj.TryGetPropertyValue(name, out var value) || value is null)
        {
            Assert.Fail($"Expected a non-null member \"{name}\" in {Describe(node)}");
            throw new InvalidOperationException();
        }

        return value;
    }

    /// <summary>True when the member is absent or JSON null.</summary>
    public static bool IsNullOrAbsent(this JsonNode node, string name) => node is not JsonObject obj || !obj.TryGetPropertyValue(name, out var value) || value is null;

    public static string Str(this JsonNode node, string name) => Value<string>(node, name, JsonValueKind.String);

    public static int Int(this JsonNode node, string name) => Value<int>(node, name, JsonValueKind.Number);

    public static long Long(this JsonNode node, string name) => Value<long>(node, name, JsonValueKind.Number);

    public static double Dbl(this JsonNode node, string name) => Value<double>(node, name, JsonValueKind.Number);

    public static bool Bool(this JsonNode node, string name)
    {
        var value = node.Member(name);
        if (value.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
        {
            Assert.Fail($"Expected \"{name}\" to be a boolean in {Describe(node)}");
        }

        return value.GetValue<bool>();
    }

    public static int? NullableInt(this JsonNode node, string name) => node.IsNullOrAbsent(name) ? null : node.Int(name);

    public static double? NullableDbl(this JsonNode node, string name) => node.IsNullOrAbsent(name) ? null : node.Dbl(name);

    public static string? NullableStr(this JsonNode node, string name) => node.IsNullOrAbsent(name) ? null : node.Str(name);

    public static JsonObject Obj(this JsonNode node, string name) =>
        node.Member(name) as JsonObject ?? throw new InvalidOperationException($"Expected \"{name}\" to be an object in {Describe(node)}");

    public static JsonArray Arr(this JsonNode node, string name) =>
        node.Member(name) as JsonArray ?? throw new InvalidOperationException($"Expected \"{name}\" to be an array in {Describe(node)}");

    public static DateTimeOffset Time(this JsonNode node, string name)
    {
        var text = node.Str(name);
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var time))
        {
            Assert.Fail($"Expected \"{name}\" to be a timestamp, got '{text}' in {Describe(node)}");
        }

        return time;
    }

    public static List<string> Strings(this JsonNode node, string name) => [.. node.Arr(name).Select(n => n!.GetValue<string>())];

    /// <summary>A fraction in [0, 1].</summary>
    public static double Fraction(this JsonNode node, string name)
    {
        var value = node.Dbl(name);
        Assert.True(value is >= 0 and <= 1, $"Expected \"{name}\" in [0, 1], got {value} in {Describe(node)}");
        return value;
    }

    public static string Describe(JsonNode? node) => ApiResponse.Truncate(node?.ToJsonString() ?? "null", 1500);

    /// <summary>The path of a Location header or URI string (absolute or relative), e.g. "/api/categories/x".</summary>
    public static string PathOf(Uri? uri)
    {
        Assert.NotNull(uri);
        return uri.IsAbsoluteUri ? uri.AbsolutePath : "/" + uri.OriginalString.Split('?')[0].TrimStart('/');
    }

    private static T Value<T>(JsonNode node, string name, JsonValueKind kind)
    {
        var value = node.Member(name);
        if (value.GetValueKind() != kind)
        {
            Assert.Fail($"Expected \"{name}\" to be a {kind} in {Describe(node)}");
        }

        try
        {
            return value.GetValue<T>();
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException)
        {
            Assert.Fail($"Expected \"{name}\" to be a {typeof(T).Name}: {ex.Message} in {Describe(node)}");
            throw;
        }
    }
}
