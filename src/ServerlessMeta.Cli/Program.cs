using System.CommandLine;
using System.Runtime.InteropServices;
using ServerlessMeta.Cli;

// Ctrl+C and SIGTERM cancel the running command's token, so commands that hold resources (smeta serve
// and demo: the HTTP server, the durable worker, a private Azurite) stop them cleanly. A second signal
// while they do falls through to the default: the process ends at once. (System.CommandLine's own
// handler is off: a second signal made it throw while the command was stopping.)
using var cancellation = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = !cancellation.IsCancellationRequested;
    cancellation.Cancel();
}

using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
var configuration = new InvocationConfiguration { ProcessTerminationTimeout = null };
return await SmetaCommand.Create().Parse(args).InvokeAsync(configuration, cancellation.Token).ConfigureAwait(false);
