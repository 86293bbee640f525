using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using ServerlessMeta.Api;

namespace ServerlessMeta.Functions.Http;

/// <summary>The health route, the only anonymous one: storage reachability and the serving meta-model.</summary>
public sealed class HealthFunctions(ServerlessMetaApi api)
{
    [Function(ApiRouteNames.Health)]
    public Task<IResult> Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = ApiRoutes.Health)] HttpRequest request,
        CancellationToken cancellationToken) =>
        api.HealthAsync(request, cancellationToken);
}
