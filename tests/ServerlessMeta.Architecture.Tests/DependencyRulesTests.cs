using System.Reflection;
using NetArchTest.Rules;
using ServerlessMeta.Api;
using ServerlessMeta.Application;
using ServerlessMeta.Functions;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.LocalHost;
using ServerlessMeta.Orchestration;
using ServerlessMeta.Orchestration.Local;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Architecture.Tests;

/// <summary>
/// The dependency rules of docs/architecture.md, checked on the compiled assemblies: dependencies point one way,
/// hosts -> Api -> application services -> Learning and Storage; Learning sees no Azure, Storage no tensors,
/// Orchestration no HTTP, and the hosts and the Api's handlers only Api and application types.
/// </summary>
public sealed class DependencyRulesTests
{
    private static readonly Assembly Learning = typeof(MetaModel).Assembly;
    private static readonly Assembly Storage = typeof(DatasetStore).Assembly;
    private static readonly Assembly Application = typeof(PretrainingPlan).Assembly;
    private static readonly Assembly Orchestration = typeof(PretrainingOrchestrator).Assembly;
    private static readonly Assembly Api = typeof(ServerlessMetaApi).Assembly;
    private static readonly Assembly Functions = typeof(FunctionNames).Assembly;
    private static readonly Assembly LocalHost = typeof(LocalServer).Assembly;
    private static readonly Assembly LocalEngine = typeof(LocalDurableWorker).Assembly;

    /// <summary>The Azure SDK and Functions namespaces (Azure.Core, Azure.Storage.*, Azure.Data.Tables, Azure.Identity, Microsoft.Azure.*).</summary>
    private static readonly string[] AzureNamespaces = ["Azure", "Microsoft.Azure", "Microsoft.Extensions.Azure"];

    /// <summary>Tensor and model-runtime namespaces.</summary>
    private static readonly string[] TensorNamespaces = ["TorchSharp", "Microsoft.ML"];

    /// <summary>HTTP: ASP.NET Core and the HTTP client.</summary>
    private static readonly string[] HttpNamespaces = ["Microsoft.AspNetCore", "System.Net.Http"];

    [Fact]
    public void LearningUsesNoAzureTypeAndNoOtherLayer()
    {
        AssertNone(Types.InAssembly(Learning), [.. AzureNamespaces, .. HttpNamespaces, .. Layers(Storage, Application, Orchestration, Api)]);
    }

    [Fact]
    public void StorageUsesNoTensorTypeAndNoOtherLayer()
    {
        // (Storage may see System.Net.Http: the SDK's transport faults are how it tells an outage from a refusal.)
        AssertNone(Types.InAssembly(Storage), [.. TensorNamespaces, "Microsoft.AspNetCore", .. Layers(Learning, Application, Orchestration, Api)]);
    }

    [Fact]
    public void ApplicationServicesKnowNoHostOrchestrationOrHttp()
    {
        AssertNone(Types.InAssembly(Application), [.. HttpNamespaces, "Microsoft.DurableTask", "DurableTask", .. Layers(Orchestration, Api)]);
    }

    [Fact]
    public void OrchestrationUsesNoHttpNoStorageClientAndNoTensor()
    {
        // Orchestrators and activities move blob references and call application services; they never open a storage
        // client, touch tensors or speak HTTP themselves.
        AssertNone(Types.InAssembly(Orchestration), [.. HttpNamespaces, .. AzureNamespaces, .. TensorNamespaces, .. Layers(Learning, Api)]);
    }

    [Fact]
    public void ApiHandlersUseApplicationLevelTypesOnly()
    {
        // The set-up (ServerlessMetaHostExtensions, with its telemetry part) is the composition root: it alone
        // registers and checks storage and wires the Azure Monitor exporter.
        var handlers = Types.InAssembly(Api).That()
            .DoNotHaveNameStartingWith(nameof(ServerlessMetaHostExtensions)).And()
            .DoNotHaveNameStartingWith(nameof(TelemetryExtensions));
        AssertNone(handlers, [.. TensorNamespaces, .. AzureNamespaces, .. Layers(Storage, Learning)]);
    }

    [Fact]
    public void HostsUseOnlyApiAndApplicationTypes()
    {
        // The Functions app may name the storage setting's start-up error, which it prints in one line.
        string[] storageButItsStartupError = [.. Storage.GetExportedTypes().Where(t => t != typeof(StorageConfigurationException)).Select(t => t.FullName!)];
        AssertNone(Types.InAssemblies([Functions, LocalHost]), [.. TensorNamespaces, "Azure.Storage", "Azure.Data.Tables", "Azure.Identity", .. Layers(Learning), .. storageButItsStartupError]);
    }

    [Fact]
    public void TheLocalDurableEngineIsUsedOnlyByTheLocalHost()
    {
        AssertNone(Types.InAssemblies([Learning, Storage, Application, Orchestration, Api, Functions]), [.. Layers(LocalEngine)]);
    }

    /// <summary>The root namespace of each assembly (ServerlessMeta.Storage, ...).</summary>
    private static IEnumerable<string> Layers(params Assembly[] assemblies) => assemblies.Select(a => a.GetName().Name!);

    private static void AssertNone(Types types, string[] forbidden) => AssertNone(types.That().HaveNameMatching(".*"), forbidden);

    private static void AssertNone(PredicateList types, string[] forbidden)
    {
        var result = types.ShouldNot().HaveDependencyOnAny(forbidden).GetResult();
        Assert.True(result.IsSuccessful, "These types break the rule: " + string.Join(", ", result.FailingTypeNames ?? []));
    }
}
