using System.CommandLine;
using ServerlessMeta.Cli.Benchmarks;
using ServerlessMeta.Cli.Serving;

namespace ServerlessMeta.Cli;

/// <summary>The <c>smeta</c> command tree.</summary>
internal static class SmetaCommand
{
    public static RootCommand Create()
    {
        var root = new RootCommand("ServerlessMeta: few-shot models for new e-commerce categories, meta-learned across the existing ones.");
        var bench = new Command("bench", "Benchmarks that print figures (quality and speed).");
        bench.Subcommands.Add(SinusoidBenchmark.CreateCommand());
        bench.Subcommands.Add(CatalogBenchmark.CreateCommand());
        bench.Subcommands.Add(DurableBenchmark.CreateCommand());
        bench.Subcommands.Add(ApiBenchmark.CreateCommand());
        bench.Subcommands.Add(RealBenchmark.CreateCommand());
        bench.Subcommands.Add(EncoderBenchmark.CreateCommand());
        bench.Subcommands.Add(FaultBenchmark.CreateCommand());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        foreach (var command in RouteCommands.Create())
        {
            root.Subcommands.Add(command);
        }

        root.Subcommands.Add(bench);
        root.Subcommands.Add(ModelCommands.Create());
        root.Subcommands.Add(EmbedCommand.Create());
        root.Subcommands.Add(Durable.WorkerCommand.Create());
        return root;
    }
}
