using ServerlessMeta.LocalHost;

await using var server = await LocalServer.StartAsync(new LocalServerOptions
{
    StorageConnectionString = Environment.GetEnvironmentVariable("SMETA_STORAGE"),
    ApiKey = Environment.GetEnvironmentVariable(LocalServerOptions.ApiKeyVariable),
}).ConfigureAwait(false);
Console.WriteLine($"listening on {server.BaseAddress.ToString().TrimEnd('/')}");
var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
await stop.Task.ConfigureAwait(false);
