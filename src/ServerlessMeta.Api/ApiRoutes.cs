namespace ServerlessMeta.Api;

/// <summary>
/// Route templates, relative to the <c>/api</c> prefix (the Functions host adds it; the local host maps
/// them under it). Both hosts use these constants, so the routes cannot drift apart.
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
}
