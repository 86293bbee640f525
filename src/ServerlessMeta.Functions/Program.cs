using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using ServerlessMeta.Api;
using ServerlessMeta.Storage;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
try
{
    // SMETA_STORAGE is checked (parsed, then one call under a deadline) before anything else starts.
    await builder.AddServerlessMetaAsync().ConfigureAwait(false);
}
catch (StorageConfigurationException e)
{
    await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
    return 1;
}

await builder.Build().RunAsync().ConfigureAwait(false);
return 0;
