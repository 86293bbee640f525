using System.CommandLine;
using ServerlessMeta.Cli;

// Ctrl+C and SIGTERM cancel the running command's token; commands that hold resources (smeta serve:
// the HTTP server, the durable worker, a private Azurite) get this long to release them.
var configuration = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) };
return await SmetaCommand.Create().Parse(args).InvokeAsync(configuration).ConfigureAwait(false);
