using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ServerlessMeta.Application;
using ServerlessMeta.Application.Categories;
using ServerlessMeta.Functions;
using ServerlessMeta.Storage;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
try
{
    // SMETA_STORAGE is checked (parsed, then one call under a deadline) before anything else starts.
    await StorageStartupCheck.VerifyAsync(builder.Configuration).ConfigureAwait(false);
    builder.AddServerlessMeta();
}
catch (StorageConfigurationException e)
{
    await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
    return 1;
}

var host = builder.Build();

// Load libtorch and the text encoder now rather than in the first request (they cost about a second).
CategoryService.WarmUp();
host.Services.GetRequiredService<TextEncoders>().WarmUp();
await host.RunAsync().ConfigureAwait(false);
return 0;
