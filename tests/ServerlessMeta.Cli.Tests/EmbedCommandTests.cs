using System.Diagnostics;
using System.Text.Json;

namespace ServerlessMeta.Cli.Tests;

/// <summary><c>smeta embed</c> in child processes: offline (no network namespace) and identical across processes.</summary>
public sealed class EmbedCommandTests
{
    [Fact]
    public async Task EmbedsWithTheNetworkRemovedAndGivesTheSameVectorInTwoProcesses()
    {
        Assert.True(File.Exists("/usr/bin/unshare"), "unshare (util-linux) is needed to run a process without a network");
        // unshare --net: a new network namespace whose only interface is a loopback that is down.
        var offline = await RunAsync(["/usr/bin/unshare", "--net", "--", "dotnet"], "Jade bracelet, hand-carved", "crème brûlée");
        var online = await RunAsync(["dotnet"], "Jade bracelet, hand-carved", "crème brûlée");
        Assert.Equal(2, offline.Count);
        for (var i = 0; i < offline.Count; i++)
        {
            Assert.Equal("all-MiniLM-L6-v2", offline[i].GetProperty("encoder").GetString());
            Assert.Equal(384, offline[i].GetProperty("dimension").GetInt32());
            var a = offline[i].GetProperty("vector").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            var b = online[i].GetProperty("vector").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            Assert.Equal(a, b); // bit-identical: same model, ids, thread count and summation order
            Assert.Equal(1.0, Math.Sqrt(a.Sum(v => (double)v * v)), 4);
        }

        // The accents were stripped as BERT's uncased tokenizer does ("creme brulee"), not turned into [UNK].
        Assert.Equal([101, 13675, 21382, 7987, 9307, 2063, 102], offline[1].GetProperty("ids").EnumerateArray().Select(v => v.GetInt32()).ToArray());
    }

    private static async Task<List<JsonElement>> RunAsync(string[] prefix, params string[] texts)
    {
        var start = new ProcessStartInfo(prefix[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
        foreach (var argument in prefix.Skip(1).Concat([Path.Combine(AppContext.BaseDirectory, "smeta.dll"), "embed", "--json"]).Concat(texts))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"smeta embed exited with {process.ExitCode}: {await stderr}");
        return [.. (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone())];
    }
}
