using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using ServerlessMeta.Api;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Functions.Http;

/// <summary>The pretraining routes: start, watch and terminate durable pretraining runs through the host's durable client.</summary>
public sealed class PretrainingFunctions(ServerlessMetaApi api)
{
    [Function(ApiRouteNames.StartPretraining)]
    public Task<IResult> StartPretraining(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = ApiRoutes.Pretraining)] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        api.StartPretrainingAsync(request, new DurableTaskClientRuns(client), cancellationToken);

    [Function(ApiRouteNames.GetPretraining)]
    public Task<IResult> GetPretraining(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = ApiRoutes.PretrainingRun)] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        string instanceId,
        CancellationToken cancellationToken) =>
        api.GetPretrainingAsync(request, new DurableTaskClientRuns(client), instanceId, cancellationToken);

    [Function(ApiRouteNames.TerminatePretraining)]
    public Task<IResult> TerminatePretraining(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = ApiRoutes.PretrainingRun)] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        string instanceId,
        CancellationToken cancellationToken) =>
        api.TerminatePretrainingAsync(request, new DurableTaskClientRuns(client), instanceId, cancellationToken);
}
