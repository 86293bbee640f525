using System.Text.Json.Nodes;

namespace ServerlessMeta.Cli.Tests;

/// <summary>
/// <c>smeta bench durable --workers 2</c> (issue 12) from the built CLI: two separate worker processes pinned to one
/// core each run the same plan as one worker, with the same held-out losses at every meta-step. Times are printed,
/// not asserted.
/// </summary>
[Collection(ConsoleCapture.Name)]
public sealed class DurableScaleOutTests
{
    [Fact]
    public void TwoPinnedWorkerProcessesComputeTheSameMetaStepsAsOne()
    {
        if (Environment.ProcessorCount < 2)
        {
            Assert.Fail("This test needs two cores (one per worker).");
        }

        var (exit, output, error) = ConsoleCapture.Run(
            "bench", "durable", "--workers", "2", "--cores-per-worker", "1", "--algorithm", "protonet",
            "--rounds", "20", "--local-steps", "5", "--meta-batch", "8", "--validation-interval", "10", "--no-embedding", "--json");
        Assert.True(exit == 0, $"exit {exit}: {error}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(2, lines.Count);
        var (one, two) = (lines[0], lines[1]);
        Assert.Equal(1, one["workers"]!.GetValue<int>());
        Assert.Equal(2, two["workers"]!.GetValue<int>());
        Assert.All(lines, l => Assert.Equal(2, l["shards"]!.GetValue<int>()));

        // The same plan: the same meta-steps, so the same held-out losses at equal meta-steps (the status is polled,
        // so either run may have missed an evaluation: compare the meta-steps both saw).
        static Dictionary<int, double> Losses(JsonNode line) =>
            line["held_out_loss_by_meta_step"]!.AsArray().ToDictionary(p => p![0]!.GetValue<int>(), p => p![1]!.GetValue<double>());
        var (first, second) = (Losses(one), Losses(two));
        var common = first.Keys.Intersect(second.Keys).ToList();
        Assert.True(common.Count >= 2, $"{one} / {two}");
        Assert.All(common, step => Assert.Equal(first[step], second[step]));
        Assert.True(two["speedup_per_round"]!.GetValue<double>() > 0);
        Assert.True(two["worker_cpu_seconds"]!.GetValue<double>() > 0);
    }
}
