using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using ServerlessMeta.Application;

namespace ServerlessMeta.Api;

/// <summary>Where telemetry goes, decided from configuration (environment variables or app settings).</summary>
public enum TelemetryExporter
{
    /// <summary>Nothing is exported (the activity source and meter still exist; listeners in-process still see them).</summary>
    None,

    /// <summary>Application Insights: <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set.</summary>
    AzureMonitor,

    /// <summary>An OpenTelemetry collector: <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.</summary>
    Otlp,

    /// <summary>The console: <c>SMETA_TELEMETRY_CONSOLE</c> is <c>true</c>.</summary>
    Console,
}

/// <summary>OpenTelemetry for both hosts: the ServerlessMeta traces and metrics plus HTTP server and client instrumentation.</summary>
public static class TelemetryExtensions
{
    public const string AzureMonitorSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>"Authorization=AAD;ClientId=..." when Application Insights accepts only Entra ID-authenticated telemetry.</summary>
    public const string AzureMonitorAuthenticationSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";
    public const string OtlpEndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ConsoleSetting = "SMETA_TELEMETRY_CONSOLE";
    public const string ServiceName = "serverlessmeta";

    /// <summary>Azure Monitor when its connection string is set, else OTLP when an endpoint is set, else the console when asked, else none.</summary>
    public static TelemetryExporter ChooseExporter(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (!string.IsNullOrWhiteSpace(configuration[AzureMonitorSetting]))
        {
            return TelemetryExporter.AzureMonitor;
        }

        if (!string.IsNullOrWhiteSpace(configuration[OtlpEndpointSetting]))
        {
            return TelemetryExporter.Otlp;
        }

        return string.Equals(configuration[ConsoleSetting], "true", StringComparison.OrdinalIgnoreCase) ? TelemetryExporter.Console : TelemetryExporter.None;
    }

    /// <summary>Registers OpenTelemetry tracing and metrics with the exporter <see cref="ChooseExporter"/> picks.</summary>
    public static IHostApplicationBuilder AddServerlessMetaTelemetry(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var exporter = ChooseExporter(builder.Configuration);
        var connectionString = builder.Configuration[AzureMonitorSetting];
        var credential = AzureMonitorCredential(builder.Configuration[AzureMonitorAuthenticationSetting]);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName, serviceVersion: ServerlessMeta.Application.Categories.CategoryService.BuildVersion))
            .WithTracing(tracing =>
            {
                tracing.AddSource(ServerlessMetaTelemetry.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                _ = exporter switch
                {
                    TelemetryExporter.AzureMonitor => tracing.AddAzureMonitorTraceExporter(o => { o.ConnectionString = connectionString; o.Credential = credential; }),
                    TelemetryExporter.Otlp => tracing.AddOtlpExporter(),
                    TelemetryExporter.Console => tracing.AddConsoleExporter(),
                    _ => tracing,
                };
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(ServerlessMetaTelemetry.Name).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                _ = exporter switch
                {
                    TelemetryExporter.AzureMonitor => metrics.AddAzureMonitorMetricExporter(o => { o.ConnectionString = connectionString; o.Credential = credential; }),
                    TelemetryExporter.Otlp => metrics.AddOtlpExporter(),
                    TelemetryExporter.Console => metrics.AddConsoleExporter(),
                    _ => metrics,
                };
            });
        _ = telemetry;
        return builder;
    }

    /// <summary>
    /// The managed identity to authenticate telemetry with when the authentication string asks for Entra ID
    /// (<c>Authorization=AAD</c>, optionally <c>ClientId=</c> for a user-assigned identity); null otherwise
    /// (instrumentation-key ingestion).
    /// </summary>
    public static TokenCredential? AzureMonitorCredential(string? authenticationString)
    {
        if (string.IsNullOrWhiteSpace(authenticationString))
        {
            return null;
        }

        var parts = authenticationString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase);
        if (!string.Equals(parts.GetValueOrDefault("Authorization"), "AAD", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return parts.TryGetValue("ClientId", out var clientId) && !string.IsNullOrWhiteSpace(clientId)
            ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
    }
}
