using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using ServerlessMeta.Api;

namespace ServerlessMeta.Functions.Http;

/// <summary>The meta-model routes: the registered meta-models and their lineage.</summary>
public sealed class MetaModelFunctions(ServerlessMetaApi api)
{
    [Function(ApiRouteNames.ListMetaModels)]
    public Task<IResult> ListMetaModels(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = ApiRoutes.MetaModels)] HttpRequest request,
        CancellationToken cancellationToken) =>
        api.ListMetaModelsAsync(request, cancellationToken);
}
