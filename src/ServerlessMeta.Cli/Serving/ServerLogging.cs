using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace ServerlessMeta.Cli.Serving;

/// <summary>
/// Logging of an in-process <see cref="LocalHost.LocalServer"/> started by smeta: one line per entry on
/// stderr, so stdout keeps only the command's own output (the key, the address, tables, JSON).
/// </summary>
internal static class ServerLogging
{
    /// <summary>Warnings and errors; the storage SDK's expected 404/409 answers (Azure.Core warnings) are left out.</summary>
    public static void Quiet(ILoggingBuilder logging) => Configure(logging, LogLevel.Warning)
        .AddFilter("Azure.Core", LogLevel.Error)
        .AddFilter("Azure.Storage", LogLevel.Error);

    /// <summary>The service's own information (requests, rounds, retraining) too.</summary>
    public static void Verbose(ILoggingBuilder logging) => Configure(logging, LogLevel.Warning)
        .AddFilter("ServerlessMeta", LogLevel.Information)
        .AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Information);

    private static ILoggingBuilder Configure(ILoggingBuilder logging, LogLevel minimum)
    {
        ArgumentNullException.ThrowIfNull(logging);
        logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(minimum);
        logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        return logging;
    }
}
