using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ServerlessMeta.Testing;

/// <summary>
/// Real storage for the tests: the connection string in SMETA_TEST_STORAGE when set, otherwise an Azurite
/// started from the repository's node_modules on free loopback ports with in-memory persistence, and
/// stopped (process tree killed) afterwards. A missing Azurite fails the tests with what to do.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public const string AccountName = "devstoreaccount1";

    /// <summary>Azurite's well-known development key (public, not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly StringBuilder _output = new();
    private Process? _process;
    private string? _workDirectory;

    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>True when this fixture started Azurite (false when SMETA_TEST_STORAGE was used).</summary>
    public bool StartedAzurite => _process is not null;

    public async Task InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable("SMETA_TEST_STORAGE");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            ConnectionString = configured;
            return;
        }

        var script = FindAzurite() ?? throw new InvalidOperationException(
            "Azurite is not installed, so the storage tests cannot run. Run `npm ci` at the repository root " +
            "(package.json pins azurite 3.37.0), or set SMETA_TEST_STORAGE to a storage connection string.");
        var node = FindOnPath("node") ?? throw new InvalidOperationException(
            "Node.js (`node`) is not on PATH; Azurite needs it. Install Node 20, run `npm ci` at the repository root, " +
            "or set SMETA_TEST_STORAGE to a storage connection string.");

        for (var attempt = 1; ; attempt++)
        {
            var ports = FreeLoopbackPorts(3);
            if (await TryStartAsync(node, script, ports))
            {
                ConnectionString =
                    $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
                    $"BlobEndpoint=http://127.0.0.1:{ports[0]}/{AccountName};" +
                    $"QueueEndpoint=http://127.0.0.1:{ports[1]}/{AccountName};" +
                    $"TableEndpoint=http://127.0.0.1:{ports[2]}/{AccountName};";
                return;
            }

            var output = _output.ToString();
            await StopAsync();
            if (attempt >= 3 || !output.Contains("EADDRINUSE", StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"Azurite ({script}) did not start listening on 127.0.0.1:{string.Join(",", ports)} (waited up to {StartTimeout.TotalSeconds} s). Its output:\n{output}");
            }
        }
    }

    public Task DisposeAsync() => StopAsync();

    private async Task<bool> TryStartAsync(string node, string script, int[] ports)
    {
        _output.Clear();
        _workDirectory = Directory.CreateTempSubdirectory("smeta-azurite-").FullName;
        var start = new ProcessStartInfo(node)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _workDirectory,
        };
        foreach (var argument in new[]
        {
            script, "--silent", "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry",
            "--blobHost", "127.0.0.1", "--blobPort", $"{ports[0]}",
            "--queueHost", "127.0.0.1", "--queuePort", $"{ports[1]}",
            "--tableHost", "127.0.0.1", "--tablePort", $"{ports[2]}",
        })
        {
            start.ArgumentList.Add(argument);
        }

        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                Append($"(azurite exited with code {_process.ExitCode})");
                return false;
            }

            if (await AllAcceptAsync(ports))
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private async Task StopAsync()
    {
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
            finally
            {
                process.Dispose();
                _process = null;
            }
        }

        if (_workDirectory is not null && Directory.Exists(_workDirectory))
        {
            Directory.Delete(_workDirectory, recursive: true);
            _workDirectory = null;
        }
    }

    private static async Task<bool> AllAcceptAsync(int[] ports)
    {
        foreach (var port in ports)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port);
            }
            catch (SocketException)
            {
                return false;
            }
        }

        return true;
    }

    private static int[] FreeLoopbackPorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }

    /// <summary>node_modules/azurite/dist/src/azurite.js in the nearest folder above the test binaries that has it.</summary>
    private static string? FindAzurite()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var script = Path.Combine(directory.FullName, "node_modules", "azurite", "dist", "src", "azurite.js");
            if (File.Exists(script))
            {
                return script;
            }
        }

        return null;
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);
}

/// <summary>Every test class of an assembly that uses storage shares one Azurite.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollectionDefinition : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
