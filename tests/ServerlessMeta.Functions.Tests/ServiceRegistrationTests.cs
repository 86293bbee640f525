using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ServerlessMeta.Api;
using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Functions.Tests;

/// <summary>
/// <c>AddServerlessMeta()</c> on a plain host builder: everything the functions need resolves. Nothing here
/// talks to storage (clients are created, never called).
/// </summary>
public sealed class ServiceRegistrationTests : IDisposable
{
    private readonly IHost _host;

    public ServiceRegistrationTests()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = Environments.Development });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SMETA_STORAGE"] = "UseDevelopmentStorage=true",
            ["SMETA_RETRAINING:Rounds"] = "7",
            ["SMETA_RETRAINING:Algorithm"] = "maml",
            ["SMETA_API:MaxRequestBodyBytes"] = "1024",
        });
        builder.ConfigureContainer(new DefaultServiceProviderFactory(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true }));
        builder.AddServerlessMeta();
        _host = builder.Build();
    }

    public void Dispose() => _host.Dispose();

    [Fact]
    public void ResolvesTheApiAndTheScheduler()
    {
        Assert.NotNull(_host.Services.GetRequiredService<ServerlessMetaApi>());
        Assert.NotNull(_host.Services.GetRequiredService<RetrainingScheduler>());
    }

    [Fact]
    public void ResolvesEveryOrchestratorAndActivityClass()
    {
        foreach (var (name, type) in PretrainingTasks.Orchestrators.Concat(PretrainingTasks.Activities))
        {
            Assert.True(_host.Services.GetService(type) is not null, $"{name} ({type.Name}) is not registered.");
        }
    }

    [Fact]
    public void BindsRetrainingAndApiOptionsFromTheirSections()
    {
        var retraining = _host.Services.GetRequiredService<IOptions<RetrainingOptions>>().Value;
        Assert.Equal(7, retraining.Rounds);
        Assert.Equal("maml", retraining.Algorithm);
        Assert.Equal(1024, _host.Services.GetRequiredService<IOptions<ApiOptions>>().Value.MaxRequestBodyBytes);
    }

    [Fact]
    public void EveryFunctionClassCanBeActivated()
    {
        var functionClasses = typeof(FunctionNames).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false })
            .Where(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly).Any(m => m.GetCustomAttribute<FunctionAttribute>() is not null))
            .ToList();
        Assert.True(functionClasses.Count >= 5, $"Only {functionClasses.Count} function classes with instance methods found.");
        using var scope = _host.Services.CreateScope();
        foreach (var type in functionClasses)
        {
            Assert.NotNull(ActivatorUtilities.CreateInstance(scope.ServiceProvider, type));
        }
    }
}
