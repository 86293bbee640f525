using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ServerlessMeta.Orchestration.Local;

/// <summary>
/// A private Azurite from the repository's node_modules on free loopback ports with in-memory persistence (and
/// --skipApiVersionCheck, which the current storage clients need), stopped on dispose.
/// </summary>
public sealed class LocalAzurite : IDisposable
{
    private const string Account = "devstoreaccount1";

    // Azurite's well-known development key (public, not a secret).
    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;
    private readonly string _directory;

    private LocalAzurite(Process process, string directory, string connectionString)
    {
        _process = process;
        _directory = directory;
        ConnectionString = connectionString;
    }

    public string ConnectionString { get; }

    public static async Task<LocalAzurite> StartAsync()
    {
        var script = Find() ?? await InstallAsync().ConfigureAwait(false);
        var listeners = Enumerable.Range(0, 3).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        listeners.ForEach(l => l.Start());
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        listeners.ForEach(l => l.Stop());
        var directory = Directory.CreateTempSubdirectory("smeta-azurite-").FullName;
        var start = new ProcessStartInfo("node") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        foreach (var argument in new[]
        {
            script, "--silent", "--inMemoryPersistence", "--skipApiVersionCheck",
            "--blobHost", "127.0.0.1", "--blobPort", $"{ports[0]}", "--queueHost", "127.0.0.1", "--queuePort", $"{ports[1]}",
            "--tableHost", "127.0.0.1", "--tablePort", $"{ports[2]}",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var azurite = new LocalAzurite(process, directory,
            $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={Key};BlobEndpoint=http://127.0.0.1:{ports[0]}/{Account};" +
            $"QueueEndpoint=http://127.0.0.1:{ports[1]}/{Account};TableEndpoint=http://127.0.0.1:{ports[2]}/{Account};");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process.HasExited)
            {
                break;
            }

            if (await AllAcceptAsync(ports).ConfigureAwait(false))
            {
                return azurite;
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        azurite.Dispose();
        throw new InvalidOperationException($"Azurite ({script}) did not start listening on {string.Join(",", ports)}.");
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        _process.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static async Task<bool> AllAcceptAsync(int[] ports)
    {
        foreach (var port in ports)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// On a fresh clone node_modules is missing: install the Azurite pinned by the repository's
    /// package-lock.json with <c>npm ci</c> (as build/test.sh does), once, and return its script.
    /// </summary>
    private static async Task<string> InstallAsync()
    {
        var root = FindUp("package-lock.json")
            ?? throw new InvalidOperationException("Azurite is not installed and no package-lock.json was found above this directory: run `npm ci` at the repository root, or set SMETA_STORAGE to a storage connection string.");
        await Console.Error.WriteLineAsync($"Azurite is not installed: running `npm ci` in {root} (once, about a minute)...").ConfigureAwait(false);
        var start = new ProcessStartInfo("npm") { UseShellExecute = false, WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "ci", "--no-audit", "--no-fund" })
        {
            start.ArgumentList.Add(argument);
        }

        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("Azurite is not installed and npm was not found: install Node 20 and run `npm ci` at the repository root, or set SMETA_STORAGE.", e);
        }

        using (process)
        {
            var output = process!.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"`npm ci` failed with exit code {process.ExitCode}: {(await errors.ConfigureAwait(false)).Trim()} {(await output.ConfigureAwait(false)).Trim()}");
            }
        }

        return Find() ?? throw new InvalidOperationException($"`npm ci` in {root} did not install Azurite (is it in package.json?).");
    }

    private static string? FindUp(string file)
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, file)))
                {
                    return directory.FullName;
                }
            }
        }

        return null;
    }

    private static string? Find()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var script = Path.Combine(directory.FullName, "node_modules", "azurite", "dist", "src", "azurite.js");
                if (File.Exists(script))
                {
                    return script;
                }
            }
        }

        return null;
    }
}
