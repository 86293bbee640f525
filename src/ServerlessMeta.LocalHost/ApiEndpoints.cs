using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ServerlessMeta.Api;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.LocalHost;

/// <summary>Maps the API's routes (the same templates and handlers as the Functions app) under <c>/api</c>.</summary>
public static class ApiEndpoints
{
    public static IEndpointRouteBuilder MapServerlessMetaApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var api = endpoints.MapGroup("/" + ApiRoutes.Prefix);
        api.MapPost(ApiRoutes.Categories, (HttpRequest r, ServerlessMetaApi h, CancellationToken c) => h.CreateCategoryAsync(r, c));
        api.MapGet(ApiRoutes.Categories, (HttpRequest r, ServerlessMetaApi h, CancellationToken c) => h.ListCategoriesAsync(r, c));
        api.MapGet(ApiRoutes.Category, (HttpRequest r, string id, ServerlessMetaApi h, CancellationToken c) => h.GetCategoryAsync(r, id, c));
        api.MapPost(ApiRoutes.Predict, (HttpRequest r, string id, ServerlessMetaApi h, CancellationToken c) => h.PredictAsync(r, id, c));
        api.MapPost(ApiRoutes.Feedback, (HttpRequest r, string id, ServerlessMetaApi h, CancellationToken c) => h.FeedbackAsync(r, id, c));
        api.MapPost(ApiRoutes.Examples, (HttpRequest r, string id, ServerlessMetaApi h, CancellationToken c) => h.AddExamplesAsync(r, id, c));
        api.MapGet(ApiRoutes.Versions, (HttpRequest r, string id, ServerlessMetaApi h, CancellationToken c) => h.ListVersionsAsync(r, id, c));
        api.MapGet(ApiRoutes.VersionModel, (HttpRequest r, string id, string version, ServerlessMetaApi h, CancellationToken c) => h.DownloadModelAsync(r, id, version, c));
        api.MapPost(ApiRoutes.Promote, (HttpRequest r, string id, string version, ServerlessMetaApi h, CancellationToken c) => h.PromoteAsync(r, id, version, c));
        api.MapPost(ApiRoutes.Pretraining, (HttpRequest r, ServerlessMetaApi h, IPretrainingRuns runs, CancellationToken c) => h.StartPretrainingAsync(r, runs, c));
        api.MapGet(ApiRoutes.PretrainingRun, (HttpRequest r, string instanceId, ServerlessMetaApi h, IPretrainingRuns runs, CancellationToken c) => h.GetPretrainingAsync(r, runs, instanceId, c));
        api.MapDelete(ApiRoutes.PretrainingRun, (HttpRequest r, string instanceId, ServerlessMetaApi h, IPretrainingRuns runs, CancellationToken c) => h.TerminatePretrainingAsync(r, runs, instanceId, c));
        api.MapGet(ApiRoutes.MetaModels, (HttpRequest r, ServerlessMetaApi h, CancellationToken c) => h.ListMetaModelsAsync(r, c));
        api.MapGet(ApiRoutes.Health, (HttpRequest r, ServerlessMetaApi h, CancellationToken c) => h.HealthAsync(r, c));
        return endpoints;
    }
}
