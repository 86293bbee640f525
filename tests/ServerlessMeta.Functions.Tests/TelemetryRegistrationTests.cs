using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using ServerlessMeta.Api;

namespace ServerlessMeta.Functions.Tests;

/// <summary>The exporter follows configuration, and the app's tracer and meter providers build with it.</summary>
public sealed class TelemetryRegistrationTests
{
    [Theory]
    [InlineData(null, null, null, TelemetryExporter.None)]
    [InlineData("InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://localhost/", "http://localhost:4317", null, TelemetryExporter.AzureMonitor)]
    [InlineData(null, "http://localhost:4317", "true", TelemetryExporter.Otlp)]
    [InlineData(null, null, "true", TelemetryExporter.Console)]
    [InlineData(null, null, "no", TelemetryExporter.None)]
    public void ChoosesTheExporterFromConfiguration(string? appInsights, string? otlp, string? console, TelemetryExporter expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [TelemetryExtensions.AzureMonitorSetting] = appInsights,
            [TelemetryExtensions.OtlpEndpointSetting] = otlp,
            [TelemetryExtensions.ConsoleSetting] = console,
        }).Build();
        Assert.Equal(expected, TelemetryExtensions.ChooseExporter(configuration));
    }

    [Fact]
    public void WithAnApplicationInsightsConnectionStringTheProvidersBuild()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SMETA_STORAGE"] = "UseDevelopmentStorage=true",
            [TelemetryExtensions.AzureMonitorSetting] = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://localhost/",
        });
        builder.AddServerlessMeta();
        using var host = builder.Build();
        Assert.NotNull(host.Services.GetService<TracerProvider>());
        Assert.NotNull(host.Services.GetService<MeterProvider>());
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("Authorization=Key", false)]
    [InlineData("Authorization=AAD", true)]
    [InlineData("Authorization=AAD;ClientId=11111111-2222-3333-4444-555555555555", true)]
    public void AuthenticatesTelemetryWithTheManagedIdentityOnlyWhenEntraIdIsRequired(string? authentication, bool expectCredential) =>
        Assert.Equal(expectCredential, TelemetryExtensions.AzureMonitorCredential(authentication) is Azure.Identity.ManagedIdentityCredential);
}
