using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using ServerlessMeta.LocalHost;

// The local host on its own (`smeta serve` is the usual way in): SMETA_STORAGE, SMETA_API_KEY and
// SMETA_PORT configure it; Ctrl+C or SIGTERM stops it.
var port = int.TryParse(Environment.GetEnvironmentVariable("SMETA_PORT"), out var p) ? p : 0;
await using var server = await LocalServer.StartAsync(new LocalServerOptions
{
    Port = port,
    StorageConnectionString = Environment.GetEnvironmentVariable("SMETA_STORAGE"),
    ApiKey = Environment.GetEnvironmentVariable(LocalServerOptions.ApiKeyVariable),
    Logging = logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning).AddFilter("Azure.Core", LogLevel.Error),
}).ConfigureAwait(false);
if (server.ApiKeyGenerated)
{
    Console.WriteLine($"api key: {server.ApiKey}");
}

Console.WriteLine($"listening on {server.BaseAddress.ToString().TrimEnd('/')}");
var stop = new TaskCompletionSource();
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.TrySetResult(); });
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.TrySetResult(); });
await stop.Task.ConfigureAwait(false);
