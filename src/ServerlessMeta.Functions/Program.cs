using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ServerlessMeta.Application;
using ServerlessMeta.Application.Categories;
using ServerlessMeta.Functions;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.AddServerlessMeta();
var host = builder.Build();

// Load libtorch and the text encoder now rather than in the first request (they cost about a second).
CategoryService.WarmUp();
host.Services.GetRequiredService<TextEncoders>().WarmUp();
await host.RunAsync().ConfigureAwait(false);
