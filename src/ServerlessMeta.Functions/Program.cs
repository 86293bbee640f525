using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using ServerlessMeta.Application.Categories;
using ServerlessMeta.Functions;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.AddServerlessMeta();
var host = builder.Build();

// Load libtorch now rather than in the first request (it costs a few hundred milliseconds).
CategoryService.WarmUp();
await host.RunAsync().ConfigureAwait(false);
