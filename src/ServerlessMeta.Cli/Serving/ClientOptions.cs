using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ServerlessMeta.Cli.Serving;

/// <summary>
/// Options shared by the commands that call the HTTP API (<c>--url</c>, <c>--key</c>, <c>--json</c>) and
/// how they report errors: a problem's title, detail and field on stderr; exit code 2 for 4xx and for
/// unusable input files, 1 for anything else.
/// </summary>
internal static class ClientOptions
{
    public const string UrlVariable = "SMETA_URL";
    public const string KeyVariable = "SMETA_API_KEY";
    public const string DefaultUrl = "http://127.0.0.1:7071";

    public static readonly JsonSerializerOptions Indented = new(ApiClient.Json) { WriteIndented = true };

    public static Option<string> Url() => new("--url")
    {
        Description = $"The service's base address (default: ${UrlVariable}, else {DefaultUrl}).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } url ? url : DefaultUrl,
    };

    public static Option<string?> Key() => new("--key")
    {
        Description = $"The function key, sent in x-functions-key (default: ${KeyVariable}).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(KeyVariable) is { Length: > 0 } key ? key : null,
    };

    public static Option<bool> Json() => new("--json")
    {
        Description = "Print the API's JSON responses instead of readable text.",
    };

    /// <summary>Adds <c>--url</c>, <c>--key</c> and <c>--json</c> to a command and returns them.</summary>
    public static (Option<string> Url, Option<string?> Key, Option<bool> Json) AddTo(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var options = (Url(), Key(), Json());
        command.Options.Add(options.Item1);
        command.Options.Add(options.Item2);
        command.Options.Add(options.Item3);
        return options;
    }

    public static ApiClient CreateClient(ParseResult parse, Option<string> url, Option<string?> key)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var address = parse.GetValue(url)!;
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new InputException($"--url: '{address}' is not an http(s) address.");
        }

        return new ApiClient(uri, parse.GetValue(key));
    }

    public static TextWriter Out(this ParseResult parse) => parse.InvocationConfiguration.Output;

    public static TextWriter Error(this ParseResult parse) => parse.InvocationConfiguration.Error;

    public static void WriteJson(this TextWriter writer, JsonNode? node, bool indented = false) =>
        writer.WriteLine(node?.ToJsonString(indented ? Indented : ApiClient.Json) ?? "null");

    /// <summary>Runs a command's body and turns failures into messages and exit codes.</summary>
    public static async Task<int> RunAsync(ParseResult parse, Func<Task<int>> action)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(action);
        var error = parse.Error();
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (ApiException ex)
        {
            await error.WriteLineAsync($"smeta: {ex.Message}").ConfigureAwait(false);
            return ex.IsClientError ? 2 : 1;
        }
        catch (InputException ex)
        {
            await error.WriteLineAsync($"smeta: {ex.Message}").ConfigureAwait(false);
            return 2;
        }
        catch (HttpRequestException ex)
        {
            await error.WriteLineAsync($"smeta: cannot reach the service: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (TaskCanceledException ex) when (ex.InnerException is TimeoutException)
        {
            await error.WriteLineAsync($"smeta: the service did not answer in time ({ex.InnerException.Message})").ConfigureAwait(false);
            return 1;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException or JsonException)
        {
            await error.WriteLineAsync($"smeta: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}
