using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ServerlessMeta.Orchestration.Local;

/// <summary>
/// A private Azurite from the repository's node_modules on free loopback ports, stopped on dispose: in memory by
/// default (and with --skipApiVersionCheck, which the current storage clients need), or on a data folder that
/// survives <see cref="Kill"/> and <see cref="RestartAsync"/>. <see cref="Suspend"/> and <see cref="Resume"/> freeze
/// and thaw it (SIGSTOP, SIGCONT) to show what the service does when storage stops answering.
/// </summary>
public sealed class LocalAzurite : IDisposable
{
    /// <summary>Azurite's development account.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>Azurite's well-known development key (public, not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly string _script;
    private readonly int[] _ports;
    private readonly string _directory;
    private readonly bool _persistent;
    private Process? _process;

    private LocalAzurite(string script, int[] ports, string directory, bool persistent)
    {
        _script = script;
        _ports = ports;
        _directory = directory;
        _persistent = persistent;
        ConnectionString =
            $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{ports[0]}/{AccountName};" +
            $"QueueEndpoint=http://127.0.0.1:{ports[1]}/{AccountName};TableEndpoint=http://127.0.0.1:{ports[2]}/{AccountName};";
    }

    public string ConnectionString { get; }

    /// <summary>The data folder when started with <c>persistent: true</c> (kept across <see cref="RestartAsync"/>, deleted on dispose).</summary>
    public string? DataDirectory => _persistent ? _directory : null;

    /// <summary>CPU time the Azurite process has used so far (what storage costs the machine in a benchmark).</summary>
    public TimeSpan CpuTime
    {
        get
        {
            if (_process is not { HasExited: false } process)
            {
                return TimeSpan.Zero;
            }

            process.Refresh();
            return process.TotalProcessorTime;
        }
    }

    /// <summary>Starts an in-memory Azurite.</summary>
    public static Task<LocalAzurite> StartAsync() => StartAsync(persistent: false);

    /// <summary>Starts Azurite; with <paramref name="persistent"/> its data lives in a temporary folder and survives a restart.</summary>
    public static async Task<LocalAzurite> StartAsync(bool persistent)
    {
        var script = Find() ?? await InstallAsync().ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            // Free ports are found by binding port 0 and letting go, so another process (or an outgoing connection's
            // ephemeral port) can take one before Azurite binds it: Azurite then exits at once, and fresh ports are tried.
            var listeners = Enumerable.Range(0, 3).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
            listeners.ForEach(l => l.Start());
            var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
            listeners.ForEach(l => l.Stop());
            var directory = Directory.CreateTempSubdirectory("smeta-azurite-").FullName;
            var azurite = new LocalAzurite(script, ports, directory, persistent);
            try
            {
                await azurite.LaunchAsync().ConfigureAwait(false);
                return azurite;
            }
            catch (InvalidOperationException) when (attempt < 3 && azurite._process is { HasExited: true })
            {
                azurite.Dispose();
            }
            catch
            {
                azurite.Dispose();
                throw;
            }
        }
    }

    /// <summary>Freezes the Azurite process (SIGSTOP): connections are still accepted by the kernel, but nothing answers.</summary>
    public void Suspend() => Signal("STOP");

    /// <summary>Thaws a suspended Azurite (SIGCONT); requests queued meanwhile are then served.</summary>
    public void Resume() => Signal("CONT");

    /// <summary>
    /// Stops Azurite the way <c>kill PID</c> does (SIGTERM) and waits for it to exit; <see cref="RestartAsync"/> brings it back.
    /// Not SIGKILL: Azurite keeps its metadata in memory and saves it every 5 s, so SIGKILL loses writes it has already
    /// acknowledged, which real storage never does; SIGTERM makes it save first.
    /// </summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            Signal("TERM");
            if (!process.WaitForExit(30_000))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
    }

    /// <summary>Starts Azurite again on the same ports (and data folder, when persistent) after <see cref="Kill"/>.</summary>
    public Task RestartAsync()
    {
        Kill();
        _process?.Dispose();
        _process = null;
        return LaunchAsync();
    }

    private async Task LaunchAsync()
    {
        var start = new ProcessStartInfo("node") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _directory };
        var persistence = _persistent ? new[] { "--location", Path.Combine(_directory, "data") } : ["--inMemoryPersistence"];
        foreach (var argument in new[] { _script, "--silent", "--skipApiVersionCheck", "--disableTelemetry" }.Concat(persistence).Concat(
        [
            "--blobHost", "127.0.0.1", "--blobPort", $"{_ports[0]}", "--queueHost", "127.0.0.1", "--queuePort", $"{_ports[1]}",
            "--tableHost", "127.0.0.1", "--tablePort", $"{_ports[2]}",
        ]))
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("Node.js (`node`) is not on PATH; Azurite needs it: install Node 20 and run `npm ci` at the repository root, or set SMETA_STORAGE to a storage connection string.", e);
        }

        // What Azurite says while starting (--silent keeps it short), for the error when it does not start.
        var output = new StringBuilder();
        void Record(string? line)
        {
            lock (output)
            {
                if (line is not null && output.Length < 64 * 1024)
                {
                    output.AppendLine(line);
                }
            }
        }

        process.OutputDataReceived += (_, e) => Record(e.Data);
        process.ErrorDataReceived += (_, e) => Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                break;
            }

            if (await AllAcceptAsync(_ports).ConfigureAwait(false))
            {
                return;
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        string outcome;
        if (process.HasExited)
        {
            await process.WaitForExitAsync().ConfigureAwait(false); // and for the last of its output
            outcome = $"it exited with code {process.ExitCode}";
        }
        else
        {
            outcome = $"still not listening after {StartTimeout.TotalSeconds} s";
        }

        string said;
        lock (output)
        {
            said = output.ToString();
        }

        throw new InvalidOperationException($"Azurite ({_script}) did not start listening on 127.0.0.1:{string.Join(",", _ports)}: {outcome}. Its output:\n{said}");
    }

    private void Signal(string signal)
    {
        var process = _process is { HasExited: false } p ? p : throw new InvalidOperationException("Azurite is not running.");
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { $"-{signal}", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })
            ?? throw new InvalidOperationException("kill did not start.");
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {process.Id} failed with exit code {kill.ExitCode}.");
        }
    }

    public void Dispose()
    {
        try
        {
            if (_process is { HasExited: false })
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        _process?.Dispose();
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
