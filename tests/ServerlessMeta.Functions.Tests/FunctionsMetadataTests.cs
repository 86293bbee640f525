using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Azure.Functions.Worker;
using ServerlessMeta.Api;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Functions.Tests;

/// <summary>
/// The built app's functions.metadata, which is all the Functions host knows about the functions: every
/// documented route with its method and key requirement, every orchestrator and activity under the name
/// the orchestrator calls it by, and the timer's schedule setting.
/// </summary>
public sealed partial class FunctionsMetadataTests
{
    /// <summary>The API's route table (<see cref="ApiRoutes.All"/>), one row per route: name, method, template, authorisation.</summary>
    public static TheoryData<string, string, string, string> HttpFunctions { get; } = RouteTable();

    [Theory]
    [MemberData(nameof(HttpFunctions))]
    public void HttpFunctionHasItsRouteMethodAndAuthLevel(string name, string method, string route, string authLevel)
    {
        var function = FunctionsMetadata.Get(name);
        var trigger = function.Trigger;
        Assert.Equal("httpTrigger", trigger.Type);
        Assert.Equal(route, trigger.Route);
        Assert.Equal([method], trigger.Methods);
        Assert.Equal(authLevel, trigger.AuthLevel);
        Assert.Contains(function.Bindings, b => b is { Type: "http", Direction: "Out", Name: "$return" });
    }

    [Fact]
    public void HttpRoutesAreExactlyTheDocumentedOnes()
    {
        var documented = DocumentedRoutes();
        Assert.True(documented.Count >= 14, $"docs/api.md lists only {documented.Count} routes; the pattern `METHOD /api/route` no longer matches it.");

        var served = FunctionsMetadata.All.Values
            .Select(f => f.Bindings.SingleOrDefault(b => b.Type == "httpTrigger"))
            .OfType<FunctionBinding>()
            .SelectMany(t => t.Methods.Select(m => $"{m.ToUpperInvariant()} {NormalizeRoute(t.Route!)}"))
            .ToHashSet(StringComparer.Ordinal);
        Assert.Equal(documented.Order(StringComparer.Ordinal), served.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void OnlyHealthIsAnonymous()
    {
        var anonymous = FunctionsMetadata.All.Values
            .Where(f => f.Bindings.Any(b => b.Type == "httpTrigger" && !string.Equals(b.AuthLevel, "Function", StringComparison.Ordinal)))
            .Select(f => f.Name);
        Assert.Equal([ApiRouteNames.Health], anonymous);
        Assert.Equal([ApiRouteNames.Health], ApiRoutes.All.Where(r => r.Authorization == ApiAuthorization.Anonymous).Select(r => r.Name));
    }

    [Fact]
    public void EveryOrchestratorHasAnOrchestrationTriggerFunctionOfTheSameName()
    {
        Assert.NotEmpty(PretrainingTasks.Orchestrators);
        foreach (var (name, _) in PretrainingTasks.Orchestrators)
        {
            Assert.Equal("orchestrationTrigger", FunctionsMetadata.Get(name).Trigger.Type);
        }
    }

    [Fact]
    public void EveryActivityHasAnActivityTriggerFunctionOfTheSameName()
    {
        Assert.NotEmpty(PretrainingTasks.Activities);
        foreach (var (name, _) in PretrainingTasks.Activities)
        {
            Assert.Equal("activityTrigger", FunctionsMetadata.Get(name).Trigger.Type);
        }
    }

    [Fact]
    public void EveryActivityFunctionTakesAndReturnsWhatItsActivityClassDoes()
    {
        var functions = typeof(FunctionNames).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null)
            .ToDictionary(m => m.GetCustomAttribute<FunctionAttribute>()!.Name, StringComparer.Ordinal);
        foreach (var (name, type) in PretrainingTasks.Activities)
        {
            var activityBase = type.BaseType!;
            Assert.Equal(typeof(Microsoft.DurableTask.TaskActivity<,>), activityBase.GetGenericTypeDefinition());
            var (input, output) = (activityBase.GetGenericArguments()[0], activityBase.GetGenericArguments()[1]);
            var function = functions[name];
            var trigger = Assert.Single(function.GetParameters(), p => p.GetCustomAttribute<ActivityTriggerAttribute>() is not null);
            Assert.Equal(input, trigger.ParameterType);
            Assert.Equal(typeof(Task<>).MakeGenericType(output), function.ReturnType);
        }
    }

    [Fact]
    public void TimerRunsOnTheRetrainScheduleSettingWithADurableClient()
    {
        var function = FunctionsMetadata.Get(FunctionNames.RetrainingTimer);
        var trigger = function.Trigger;
        Assert.Equal("timerTrigger", trigger.Type);
        Assert.Equal("%RETRAIN_SCHEDULE%", trigger.Schedule);
        Assert.Contains(function.Bindings, b => b.Type == "durableClient");
    }

    [Fact]
    public void PretrainingRoutesGetADurableClient()
    {
        foreach (var name in new[] { ApiRouteNames.StartPretraining, ApiRouteNames.GetPretraining, ApiRouteNames.TerminatePretraining })
        {
            Assert.Contains(FunctionsMetadata.Get(name).Bindings, b => b is { Type: "durableClient", Direction: "In" });
        }
    }

    [Fact]
    public void NoFunctionIsUnaccountedFor()
    {
        var expected = ApiRoutes.All.Select(r => r.Name)
            .Concat(PretrainingTasks.Orchestrators.Select(o => o.Name))
            .Concat(PretrainingTasks.Activities.Select(a => a.Name))
            .Append(FunctionNames.RetrainingTimer)
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected, FunctionsMetadata.All.Keys.Order(StringComparer.Ordinal));
    }

    private static TheoryData<string, string, string, string> RouteTable()
    {
        var rows = new TheoryData<string, string, string, string>();
        foreach (var route in ApiRoutes.All)
        {
            rows.Add(route.Name, route.Method.ToLowerInvariant(), route.Template, route.Authorization == ApiAuthorization.Anonymous ? "Anonymous" : "Function");
        }

        return rows;
    }

    /// <summary>The routes docs/api.md names as <c>`METHOD /api/route`</c>, route parameters anonymised.</summary>
    private static HashSet<string> DocumentedRoutes()
    {
        var text = File.ReadAllText(Path.Combine(FunctionsAppLayout.RepositoryRoot, "docs", "api.md"));
        return DocumentedRoute().Matches(text)
            .Select(m => $"{m.Groups["method"].Value} {NormalizeRoute(m.Groups["route"].Value)}")
            .ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Route without the <c>api/</c> prefix, each <c>{parameter}</c> as <c>{}</c>.</summary>
    private static string NormalizeRoute(string route) => RouteParameter().Replace(route.Trim('/'), "{}");

    [GeneratedRegex(@"`(?<method>GET|POST|PUT|PATCH|DELETE) /api/(?<route>[^`\s]+)`")]
    private static partial Regex DocumentedRoute();

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex RouteParameter();
}
