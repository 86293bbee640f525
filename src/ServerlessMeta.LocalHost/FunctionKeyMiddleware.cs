using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using ServerlessMeta.Api;

namespace ServerlessMeta.LocalHost;

/// <summary>
/// Function keys as the Functions host checks them: every <c>/api</c> request needs the key in header
/// <c>x-functions-key</c> or in <c>?code=</c> (otherwise 401 problem+json), unless routing matched it to a route the
/// route table marks <see cref="ApiAuthorization.Anonymous"/>. Compared in constant time. Runs after routing.
/// </summary>
internal sealed class FunctionKeyMiddleware(RequestDelegate next, string apiKey)
{
    public const string HeaderName = "x-functions-key";

    private readonly byte[] _key = Encoding.UTF8.GetBytes(apiKey);

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/" + ApiRoutes.Prefix, StringComparison.OrdinalIgnoreCase)
            || context.GetEndpoint()?.Metadata.GetMetadata<ApiRoute>() is { Authorization: ApiAuthorization.Anonymous })
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        string? presented = context.Request.Headers[HeaderName];
        if (string.IsNullOrEmpty(presented))
        {
            presented = context.Request.Query["code"];
        }

        if (string.IsNullOrEmpty(presented))
        {
            await ApiProblems.Unauthorized(context.Request, $"Send the key in header {HeaderName} or as ?code=.").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _key))
        {
            await ApiProblems.Unauthorized(context.Request, "The key is not valid.").ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }
}
