using System.Diagnostics;

namespace ServerlessMeta.Functions.Tests;

/// <summary>
/// The Functions app's start-up checks SMETA_STORAGE before anything else (issue 11): the built app, run as a process,
/// ends with one line naming the setting and exit code 1, not a stack trace. (The check runs before the host needs the
/// Functions runtime, so it runs here without Core Tools.)
/// </summary>
public sealed class StartupTests
{
    [Theory]
    [InlineData("garbage", "SMETA_STORAGE is not a connection string")]
    [InlineData(null, "SMETA_STORAGE is not set")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=acct", "SMETA_STORAGE has no AccountKey")]
    public async Task ABadStorageSettingStopsTheAppWithOneLine(string? storage, string expected)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(FunctionsAppLayout.OutputFile("ServerlessMeta.Functions.dll"));
        start.Environment.Remove("SMETA_STORAGE");
        if (storage is not null)
        {
            start.Environment["SMETA_STORAGE"] = storage;
        }

        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(1, process.ExitCode);
        var lines = (await errors).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", await output, StringComparison.Ordinal);
    }
}
