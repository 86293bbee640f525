using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace ServerlessMeta.Api.IntegrationTests.Infrastructure;

/// <summary>
/// The server's warnings and errors, kept in memory (so a failing test can show what the server said)
/// and appended to a file under the temp folder (smeta-api-itests/), for post-mortems.
/// </summary>
public sealed class ServerLog : ILoggerProvider
{
    private const int Capacity = 500;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Lock _fileLock = new();

    public ServerLog(string name)
    {
        var directory = Path.Combine(Path.GetTempPath(), "smeta-api-itests");
        Directory.CreateDirectory(directory);
        FilePath = Path.Combine(directory, string.Create(CultureInfo.InvariantCulture, $"{name}-{Environment.ProcessId}.log"));
    }

    /// <summary>Where every line also goes.</summary>
    public string FilePath { get; }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>The last <paramref name="count"/> lines.</summary>
    public string Recent(int count = 30)
    {
        var lines = _lines.ToArray();
        return lines.Length == 0 ? "(nothing logged at warning level or above)" : string.Join('\n', lines.Skip(Math.Max(0, lines.Length - count)));
    }

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        _lines.Enqueue(line);
        while (_lines.Count > Capacity && _lines.TryDequeue(out _))
        {
        }

        lock (_fileLock)
        {
            try
            {
                File.AppendAllText(FilePath, line + "\n");
            }
            catch (IOException)
            {
                // best effort
            }
        }
    }

    private sealed class Logger(ServerLog log, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            var text = formatter(state, exception);
            log.Add(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {text}{(exception is null ? string.Empty : "\n" + exception)}"));
        }
    }
}
