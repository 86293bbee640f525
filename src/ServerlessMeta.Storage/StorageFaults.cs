using System.Net.Sockets;
using Azure;

namespace ServerlessMeta.Storage;

/// <summary>Tells a storage outage (nothing answered, or the service said it cannot answer now) from other failures.</summary>
public static class StorageFaults
{
    /// <summary>
    /// True when <paramref name="exception"/> (or every exception it aggregates) means storage did not answer in
    /// time or is unavailable: a refused or dropped connection, a network timeout, HTTP 408, 429, 500, 502, 503
    /// or 504, or a cancellation the caller (<paramref name="callerToken"/>) did not ask for. False for a
    /// refused credential, a missing resource or a conflict: those are answers.
    /// </summary>
    public static bool IsUnavailable(Exception exception, CancellationToken callerToken = default)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(e => IsUnavailable(e, callerToken)),
            RequestFailedException failed => failed.Status is 0 or 408 or 429 or 500 or 502 or 503 or 504,
            HttpRequestException or SocketException or TimeoutException or IOException => true,
            OperationCanceledException => !callerToken.IsCancellationRequested,
            _ => exception.InnerException is { } inner && IsUnavailable(inner, callerToken),
        };
    }

    /// <summary>What went wrong, in words that carry no service response text (for anonymous health answers and start-up lines).</summary>
    public static string Describe(Exception exception, TimeSpan? waited = null)
    {
        ArgumentNullException.ThrowIfNull(exception);
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case AggregateException { InnerExceptions.Count: > 0 } aggregate:
                    return Describe(aggregate.InnerExceptions[^1], waited);
                case RequestFailedException { Status: 401 or 403 }:
                    return "authentication failed (the account key or credential was refused)";
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused }:
                case HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError }:
                    return "endpoint unreachable (connection refused)";
                case HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError }:
                    return "endpoint unreachable (host name not found)";
                case OperationCanceledException or TimeoutException:
                    return waited is { } limit ? $"no answer within {Seconds(limit)}" : "no answer in time";
            }
        }

        return exception switch
        {
            RequestFailedException failed => $"storage answered HTTP {failed.Status} {failed.ErrorCode}".TrimEnd(),
            _ when IsUnavailable(exception) => "storage is unavailable",
            _ => "storage failed",
        };
    }

    /// <summary>"10 s", "1.5 s": whole seconds without decimals.</summary>
    internal static string Seconds(TimeSpan span) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{span.TotalSeconds:0.#} s");
}
