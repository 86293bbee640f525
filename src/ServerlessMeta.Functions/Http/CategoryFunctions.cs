using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using ServerlessMeta.Api;

namespace ServerlessMeta.Functions.Http;

/// <summary>The category routes of the HTTP API: create, read, predict, feedback, ingest, versions and rollback.</summary>
public sealed class CategoryFunctions(ServerlessMetaApi api)
{
    [Function(ApiRouteNames.CreateCategory)]
    public Task<IResult> CreateCategory(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = ApiRoutes.Categories)] HttpRequest request,
        CancellationToken cancellationToken) =>
        api.CreateCategoryAsync(request, cancellationToken);

    [Function(ApiRouteNames.ListCategories)]
    public Task<IResult> ListCategories(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = ApiRoutes.Categories)] HttpRequest request,
        CancellationToken cancellationToken) =>
        api.ListCategoriesAsync(request, cancellationToken);

    [Function(ApiRouteNames.GetCategory)]
    public Task<IResult> GetCategory(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = ApiRoutes.Category)] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        api.GetCategoryAsync(request, id, cancellationToken);

    [Function(ApiRouteNames.Predict)]
    public Task<IResult> Predict(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = ApiRoutes.Predict)] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        api.PredictAsync(request, id, cancellationToken);

    [Function(ApiRouteNames.Feedback)]
    public Task<IResult> Feedback(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = ApiRoutes.Feedback)] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        api.FeedbackAsync(request, id, cancellationToken);

    [Function(ApiRouteNames.AddExamples)]
    public Task<IResult> AddExamples(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = ApiRoutes.Examples)] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        api.AddExamplesAsync(request, id, cancellationToken);

    [Function(ApiRouteNames.ListVersions)]
    public Task<IResult> ListVersions(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = ApiRoutes.Versions)] HttpRequest request,
        string id,
        CancellationToken cancellationToken) =>
        api.ListVersionsAsync(request, id, cancellationToken);

    [Function(ApiRouteNames.DownloadModel)]
    public Task<IResult> DownloadModel(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = ApiRoutes.VersionModel)] HttpRequest request,
        string id,
        string version,
        CancellationToken cancellationToken) =>
        api.DownloadModelAsync(request, id, version, cancellationToken);

    [Function(ApiRouteNames.PromoteVersion)]
    public Task<IResult> PromoteVersion(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = ApiRoutes.Promote)] HttpRequest request,
        string id,
        string version,
        CancellationToken cancellationToken) =>
        api.PromoteAsync(request, id, version, cancellationToken);
}
