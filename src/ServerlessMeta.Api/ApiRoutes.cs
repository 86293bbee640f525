using Microsoft.AspNetCore.Http;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Api;

/// <summary>Who may call a route.</summary>
public enum ApiAuthorization
{
    /// <summary>The caller must present a function key (header <c>x-functions-key</c> or <c>?code=</c>).</summary>
    FunctionKey,

    /// <summary>Anyone may call it.</summary>
    Anonymous,
}

/// <summary>What a route's handler gets: the request (route values included), the durable client and the client's abort signal.</summary>
/// <param name="Request">The request; its <c>RouteValues</c> hold the template's parameters.</param>
/// <param name="Runs">Starts and watches pretraining runs (the host's durable client).</param>
/// <param name="Aborted">Cancelled when the client goes away.</param>
public sealed record ApiCall(HttpRequest Request, IPretrainingRuns Runs, CancellationToken Aborted)
{
    /// <summary>The value of route parameter <paramref name="name"/> (routing guarantees it is there).</summary>
    public string RouteValue(string name) =>
        Request.RouteValues.TryGetValue(name, out var value) && value is string text
            ? text
            : throw new InvalidOperationException($"The route has no parameter '{name}'.");
}

/// <summary>Handles one route's requests with the shared handlers.</summary>
public delegate Task<IResult> ApiRouteHandler(ServerlessMetaApi api, ApiCall call);

/// <summary>One route of the HTTP API: the function name it has in the Functions app, its method, template, who may call it and its handler.</summary>
/// <param name="Name">The function's name (portal, logs, keys) and the local endpoint's name.</param>
/// <param name="Method">The HTTP method, upper case (<see cref="HttpMethods"/>).</param>
/// <param name="Template">The route template relative to <see cref="ApiRoutes.Prefix"/>.</param>
/// <param name="Authorization">Whether a function key is required.</param>
/// <param name="Handler">What answers it.</param>
public sealed record ApiRoute(string Name, string Method, string Template, ApiAuthorization Authorization, ApiRouteHandler Handler);

/// <summary>
/// The HTTP API's route table, the one declaration of the surface: the local host maps <see cref="All"/>, its key
/// middleware reads each route's <see cref="ApiRoute.Authorization"/>, and the Functions app's attributes use these
/// constants (a test checks its functions.metadata against <see cref="All"/>). Templates are relative to the
/// <c>/api</c> prefix (the Functions host adds it; the local host maps them under it).
/// </summary>
public static class ApiRoutes
{
    public const string Prefix = "api";

    public const string Categories = "categories";

    public const string Category = "categories/{id}";

    public const string Predict = "categories/{id}/predict";

    public const string Feedback = "categories/{id}/feedback";

    public const string Examples = "categories/{id}/examples";

    public const string Versions = "categories/{id}/versions";

    public const string VersionModel = "categories/{id}/versions/{version}/model";

    public const string Promote = "categories/{id}/versions/{version}/promote";

    public const string Pretraining = "pretraining";

    public const string PretrainingRun = "pretraining/{instanceId}";

    public const string MetaModels = "meta-models";

    public const string Health = "health";

    /// <summary>Every route, in the order docs/api.md presents them.</summary>
    public static IReadOnlyList<ApiRoute> All { get; } =
    [
        new(ApiRouteNames.CreateCategory, HttpMethods.Post, Categories, ApiAuthorization.FunctionKey, (api, call) => api.CreateCategoryAsync(call.Request, call.Aborted)),
        new(ApiRouteNames.ListCategories, HttpMethods.Get, Categories, ApiAuthorization.FunctionKey, (api, call) => api.ListCategoriesAsync(call.Request, call.Aborted)),
        new(ApiRouteNames.GetCategory, HttpMethods.Get, Category, ApiAuthorization.FunctionKey, (api, call) => api.GetCategoryAsync(call.Request, call.RouteValue("id"), call.Aborted)),
        new(ApiRouteNames.Predict, HttpMethods.Post, Predict, ApiAuthorization.FunctionKey, (api, call) => api.PredictAsync(call.Request, call.RouteValue("id"), call.Aborted)),
        new(ApiRouteNames.Feedback, HttpMethods.Post, Feedback, ApiAuthorization.FunctionKey, (api, call) => api.FeedbackAsync(call.Request, call.RouteValue("id"), call.Aborted)),
        new(ApiRouteNames.AddExamples, HttpMethods.Post, Examples, ApiAuthorization.FunctionKey, (api, call) => api.AddExamplesAsync(call.Request, call.RouteValue("id"), call.Aborted)),
        new(ApiRouteNames.ListVersions, HttpMethods.Get, Versions, ApiAuthorization.FunctionKey, (api, call) => api.ListVersionsAsync(call.Request, call.RouteValue("id"), call.Aborted)),
        new(ApiRouteNames.DownloadModel, HttpMethods.Get, VersionModel, ApiAuthorization.FunctionKey, (api, call) => api.DownloadModelAsync(call.Request, call.RouteValue("id"), call.RouteValue("version"), call.Aborted)),
        new(ApiRouteNames.PromoteVersion, HttpMethods.Post, Promote, ApiAuthorization.FunctionKey, (api, call) => api.PromoteAsync(call.Request, call.RouteValue("id"), call.RouteValue("version"), call.Aborted)),
        new(ApiRouteNames.StartPretraining, HttpMethods.Post, Pretraining, ApiAuthorization.FunctionKey, (api, call) => api.StartPretrainingAsync(call.Request, call.Runs, call.Aborted)),
        new(ApiRouteNames.GetPretraining, HttpMethods.Get, PretrainingRun, ApiAuthorization.FunctionKey, (api, call) => api.GetPretrainingAsync(call.Request, call.Runs, call.RouteValue("instanceId"), call.Aborted)),
        new(ApiRouteNames.TerminatePretraining, HttpMethods.Delete, PretrainingRun, ApiAuthorization.FunctionKey, (api, call) => api.TerminatePretrainingAsync(call.Request, call.Runs, call.RouteValue("instanceId"), call.Aborted)),
        new(ApiRouteNames.ListMetaModels, HttpMethods.Get, MetaModels, ApiAuthorization.FunctionKey, (api, call) => api.ListMetaModelsAsync(call.Request, call.Aborted)),
        new(ApiRouteNames.Health, HttpMethods.Get, Health, ApiAuthorization.Anonymous, (api, call) => api.HealthAsync(call.Request, call.Aborted)),
    ];
}

/// <summary>The routes' names: the Functions app's function names (portal, logs, keys) and the local endpoints' names.</summary>
public static class ApiRouteNames
{
    public const string CreateCategory = "CreateCategory";
    public const string ListCategories = "ListCategories";
    public const string GetCategory = "GetCategory";
    public const string Predict = "Predict";
    public const string Feedback = "Feedback";
    public const string AddExamples = "AddExamples";
    public const string ListVersions = "ListVersions";
    public const string DownloadModel = "DownloadModel";
    public const string PromoteVersion = "PromoteVersion";
    public const string StartPretraining = "StartPretraining";
    public const string GetPretraining = "GetPretraining";
    public const string TerminatePretraining = "TerminatePretraining";
    public const string ListMetaModels = "ListMetaModels";
    public const string Health = "Health";
}
