using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using ServerlessMeta.Cli.Serving;

namespace ServerlessMeta.Cli.Tests;

/// <summary><c>smeta serve</c>: in process (output, key, health, stop on cancellation) and as a child process stopped by SIGTERM.</summary>
[Collection(ConsoleCapture.Name)]
public sealed partial class ServeCommandTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ServePrintsTheGeneratedKeyThenListeningAndAnswersUntilCancelled()
    {
        var port = FreePort();
        var output = new LineWriter();
        var error = new LineWriter();
        var saved = (Key: Environment.GetEnvironmentVariable("SMETA_API_KEY"), Storage: Environment.GetEnvironmentVariable("SMETA_STORAGE"));
        Environment.SetEnvironmentVariable("SMETA_API_KEY", null);
        Environment.SetEnvironmentVariable("SMETA_STORAGE", Environment.GetEnvironmentVariable("SMETA_TEST_STORAGE"));
        using var stop = new CancellationTokenSource();
        Task<int> invocation;
        try
        {
            invocation = SmetaCommand.Create().Parse(["serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
                .InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null }, stop.Token);
            var listening = await output.WaitForAsync(l => l.StartsWith("listening on", StringComparison.Ordinal), invocation, StartTimeout);
            Assert.True(listening is not null, $"no 'listening on' line; stdout: {output} stderr: {error}");
        }
        finally
        {
            Environment.SetEnvironmentVariable("SMETA_API_KEY", saved.Key);
            Environment.SetEnvironmentVariable("SMETA_STORAGE", saved.Storage);
        }

        var lines = output.Lines;
        Assert.Contains($"listening on http://127.0.0.1:{port}", lines);
        var keyLine = Assert.Single(lines, l => l.StartsWith("api key: ", StringComparison.Ordinal));
        var key = keyLine["api key: ".Length..].Split(' ')[0];
        Assert.True(key.Length >= 16, keyLine);
        Assert.True(lines.IndexOf(keyLine) < lines.IndexOf($"listening on http://127.0.0.1:{port}"), "the key is printed before the listening line");
        Assert.Contains(lines, l => l.StartsWith("storage: ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("AccountKey", StringComparison.OrdinalIgnoreCase));

        using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") })
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/health")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/categories")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"api/categories?code={Uri.EscapeDataString(key)}")).StatusCode);
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/categories");
            request.Headers.Add("x-functions-key", key);
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(request)).StatusCode);
        }

        await stop.CancelAsync();
        var finished = await Task.WhenAny(invocation, Task.Delay(StopTimeout));
        Assert.True(finished == invocation, "serve did not stop after cancellation");
        Assert.Equal(0, await invocation);
        Assert.Contains("stopping", output.Lines);
        Assert.False(Accepts(port), "the port still accepts connections after serve stopped");
    }

    [Fact]
    public async Task ServeInAChildProcessStopsOnSigtermAndStopsItsAzurite()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "smeta.dll"), "serve", "--port", "0" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["SMETA_API_KEY"] = "child-process-key";
        start.Environment.Remove("SMETA_STORAGE");
        using var process = Process.Start(start)!;
        var output = new LineWriter();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                output.WriteLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (error)
            {
                error.AppendLine(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var exited = process.WaitForExitAsync();
            var listening = await output.WaitForAsync(l => l.StartsWith("listening on", StringComparison.Ordinal), exited, StartTimeout);
            Assert.True(listening is not null, $"no 'listening on' line; stdout: {output} stderr: {error}");
            var match = ListeningLine().Match(listening);
            Assert.True(match.Success, $"'{listening}' is not exactly 'listening on http://127.0.0.1:P'");
            var port = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.DoesNotContain(output.Lines, l => l.StartsWith("api key:", StringComparison.Ordinal));
            var storage = Assert.Single(output.Lines, l => l.StartsWith("storage: ", StringComparison.Ordinal));
            var blobPort = int.Parse(BlobPort().Match(storage).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(Accepts(blobPort), "Azurite is not listening");

            using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") })
            {
                Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/health")).StatusCode);
                http.DefaultRequestHeaders.Add("x-functions-key", "child-process-key");
                Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/categories")).StatusCode);
            }

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            var finished = await Task.WhenAny(exited, Task.Delay(StopTimeout));
            Assert.True(finished == exited, "serve did not exit after SIGTERM");
            await exited;
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}; stderr: {error}");
            Assert.Contains("stopping", output.Lines);
            Assert.False(Accepts(port), "the API port still accepts connections");
            Assert.False(Accepts(blobPort), "the private Azurite is still running");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public void StorageIsDescribedWithoutItsKey()
    {
        var described = ServeCommand.DescribeStorage(
            "DefaultEndpointsProtocol=https;AccountName=prodaccount;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net", startedAzurite: false);
        Assert.Contains("prodaccount", described, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", described, StringComparison.Ordinal);
        Assert.Equal("http://127.0.0.1:7071", ServeCommand.ListeningAddress(new Uri("http://127.0.0.1:7071/")));
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static bool Accepts(int port)
    {
        using var client = new TcpClient();
        try
        {
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [Theory]
    [InlineData("serve", "garbage", 1, "smeta serve: SMETA_STORAGE is not a connection string")]
    [InlineData("serve", "", 2, "smeta serve: SMETA_STORAGE is set but empty")]
    [InlineData("serve", "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1", 1, "smeta serve: SMETA_STORAGE has no AccountKey")]
    [InlineData("serve", "refused", 1, "smeta serve: SMETA_STORAGE: endpoint unreachable (connection refused)")]
    [InlineData("worker", "refused", 1, "smeta worker: SMETA_STORAGE: endpoint unreachable (connection refused)")]
    [InlineData("worker", "", 1, "smeta worker: SMETA_STORAGE is set but empty")]
    public async Task BadStorageSettingsEndStartUpWithOneLineNamingTheSetting(string command, string storage, int exitCode, string expected)
    {
        if (storage == "refused")
        {
            storage = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Convert.ToBase64String(new byte[64])};" +
                $"BlobEndpoint=http://127.0.0.1:{FreePort()}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{FreePort()}/devstoreaccount1;";
        }

        var output = new LineWriter();
        var error = new LineWriter();
        var saved = Environment.GetEnvironmentVariable("SMETA_STORAGE");
        Environment.SetEnvironmentVariable("SMETA_STORAGE", storage.Length == 0 ? " " : storage);
        int code;
        try
        {
            string[] arguments = command == "serve" ? ["serve", "--port", "0"] : ["worker"];
            code = await SmetaCommand.Create().Parse(arguments).InvokeAsync(new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null });
        }
        finally
        {
            Environment.SetEnvironmentVariable("SMETA_STORAGE", saved);
        }

        Assert.Equal(exitCode, code);
        var line = Assert.Single(error.Lines);
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", line, StringComparison.Ordinal);
        Assert.DoesNotContain(output.Lines, l => l.StartsWith("listening on", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheLocalHostRefusesAnEmptyStorageSettingInsteadOfStartingItsOwnAzurite()
    {
        var e = await Assert.ThrowsAsync<Storage.StorageConfigurationException>(() =>
            LocalHost.LocalServer.StartAsync(new LocalHost.LocalServerOptions { Port = 0, StorageConnectionString = "  " }));
        Assert.StartsWith("SMETA_STORAGE is set but empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerboseStartUpErrorsCarryTheStackTrace()
    {
        var error = new LineWriter();
        var saved = Environment.GetEnvironmentVariable("SMETA_STORAGE");
        Environment.SetEnvironmentVariable("SMETA_STORAGE", "garbage");
        try
        {
            Assert.Equal(1, await SmetaCommand.Create().Parse(["serve", "--port", "0", "--verbose"]).InvokeAsync(new InvocationConfiguration { Output = new LineWriter(), Error = error, ProcessTerminationTimeout = null }));
        }
        finally
        {
            Environment.SetEnvironmentVariable("SMETA_STORAGE", saved);
        }

        Assert.StartsWith("smeta serve: SMETA_STORAGE is not a connection string", error.Lines[0], StringComparison.Ordinal);
        Assert.Contains(error.Lines, l => l.Contains("StorageConfigurationException", StringComparison.Ordinal));
        Assert.Contains(error.Lines, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"^listening on http://127\.0\.0\.1:(\d+)$")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"blobs at http://127\.0\.0\.1:(\d+)/")]
    private static partial Regex BlobPort();

    /// <summary>A thread-safe writer that keeps whole lines and lets a test wait for one.</summary>
    private sealed class LineWriter : TextWriter
    {
        private readonly List<string> _lines = [];
        private readonly StringBuilder _current = new();
        private readonly SemaphoreSlim _changed = new(0);

        public override Encoding Encoding => Encoding.UTF8;

        public List<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public override void Write(char value)
        {
            lock (_lines)
            {
                if (value == '\n')
                {
                    _lines.Add(_current.ToString().TrimEnd('\r'));
                    _current.Clear();
                    _changed.Release();
                }
                else
                {
                    _current.Append(value);
                }
            }
        }

        public override void WriteLine(string? value)
        {
            lock (_lines)
            {
                Write(value);
                Write('\n');
            }
        }

        public override string ToString() => string.Join('\n', Lines);

        /// <summary>The first line matching, or null when <paramref name="stopped"/> ended first or the time ran out.</summary>
        public async Task<string?> WaitForAsync(Func<string, bool> match, Task stopped, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                if (Lines.FirstOrDefault(match) is { } line)
                {
                    return line;
                }

                if (stopped.IsCompleted)
                {
                    return null;
                }

                await _changed.WaitAsync(TimeSpan.FromMilliseconds(200));
            }

            return null;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _changed.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
