using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ServerlessMeta.Api;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.LocalHost;

/// <summary>Maps the API's route table (<see cref="ApiRoutes.All"/>: the Functions app's routes and handlers) under <c>/api</c>.</summary>
public static class ApiEndpoints
{
    /// <summary>Maps every route of <see cref="ApiRoutes.All"/>; each endpoint carries its <see cref="ApiRoute"/> as metadata (the key check reads it).</summary>
    public static IEndpointRouteBuilder MapServerlessMetaApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var api = endpoints.MapGroup("/" + ApiRoutes.Prefix);
        foreach (var route in ApiRoutes.All)
        {
            api.MapMethods(route.Template, [route.Method], (HttpContext context, ServerlessMetaApi handlers, IPretrainingRuns runs) =>
                    route.Handler(handlers, new ApiCall(context.Request, runs, context.RequestAborted)))
                .WithName(route.Name)
                .WithMetadata(route);
        }

        return endpoints;
    }
}
