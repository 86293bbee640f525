using ServerlessMeta.Cli.Benchmarks;

namespace ServerlessMeta.Cli.Tests;

/// <summary>
/// Storage outages under load (issue 11), on a real Azurite and the real local host: frozen with SIGSTOP, and stopped
/// and restarted on the same data folder. Every request ends in bounded time with an answer (2xx or a 503 of its own
/// type with Retry-After), the service recovers without a restart, and nothing it said it created is incomplete.
/// </summary>
public sealed class FaultDrillTests
{
    private static readonly FaultDrillOptions Options = new(
        RequestTimeout: TimeSpan.FromSeconds(3),
        NetworkTimeout: TimeSpan.FromSeconds(1.5),
        Outage: TimeSpan.FromSeconds(5),
        Clients: 3,
        AbandonedCreateAge: TimeSpan.FromSeconds(8));

    // The deadline bounds every request; the slack covers scheduling on a busy 2-core machine, not storage (which hangs for minutes without the deadline).
    private static readonly double Bound = Options.RequestTimeout.TotalSeconds + 5;

    [Theory]
    [InlineData("freeze")]
    [InlineData("kill")]
    public async Task AStorageOutageEndsEveryRequestInBoundedTimeAndLosesNothing(string fault)
    {
        var report = await FaultDrill.RunAsync(Enum.Parse<StorageFault>(fault, ignoreCase: true), Options);
        var summary = report.ToJson().ToJsonString();

        Assert.All(report.Requests, r =>
        {
            Assert.True(r.Status is 200 or 201 or 503, $"{r.Kind} {r.Target} answered {r.Status} ({r.ProblemType}): {summary}");
            Assert.True(r.Seconds <= Bound, $"{r.Kind} {r.Target} took {r.Seconds:0.000} s, over {Bound} s: {summary}");
            if (r is { Status: 503 } && r.Kind != "health")
            {
                Assert.EndsWith("/storage-unavailable", r.ProblemType, StringComparison.Ordinal);
                Assert.False(string.IsNullOrEmpty(r.RetryAfter), $"a 503 without Retry-After: {r}");
            }
        });

        // While storage was out, requests got 503 (never a hang, never a 500); health gave its own verdict in its own words.
        var during = report.DuringFault.ToList();
        Assert.Contains(during, r => r.Kind != "health" && r.Status == 503);
        var sick = during.Where(r => r is { Kind: "health", Status: 503 }).ToList();
        Assert.NotEmpty(sick);
        Assert.All(sick, h =>
        {
            Assert.StartsWith("storage: ", h.HealthError, StringComparison.Ordinal);
            Assert.DoesNotContain("Exception", h.HealthError, StringComparison.Ordinal);
            Assert.DoesNotContain("RequestId", h.HealthError, StringComparison.Ordinal);
        });

        // It recovered without a restart: creates and predicts that started after storage returned succeeded.
        Assert.NotNull(report.RecoverySeconds);
        Assert.Contains(report.Requests, r => r is { Kind: "create", Status: 201 } && r.StartedAt > report.FaultEndedAt);
        Assert.Contains(report.Requests, r => r is { Kind: "predict", Status: 200 } && r.StartedAt > report.FaultEndedAt);

        // Nothing half-written: every 201 is a complete category, and every create that timed out can be retried.
        Assert.Equal(0, report.CreatedIncomplete);
        Assert.Equal(0, report.RetriedCreatesFailed);
        Assert.Empty(report.Failures);
        Assert.True(report.BaseCategoryIntact, summary);
    }
}
