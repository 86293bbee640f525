using Xunit.Abstractions;
using Xunit.Sdk;

namespace ServerlessMeta.Api.IntegrationTests.Infrastructure;

/// <summary>
/// Checks whose failure should not stop a long scenario: each failure is recorded with its step, and the
/// test fails at the end with all of them (so one deviation does not hide the rest of the journey).
/// </summary>
internal sealed class SoftChecks
{
    private readonly List<string> _failures = [];

    public void Run(string step, Action check)
    {
        ArgumentNullException.ThrowIfNull(check);
        try
        {
            check();
        }
        catch (XunitException ex)
        {
            _failures.Add(step.Length == 0 ? ex.Message : $"[{step}] {ex.Message}");
        }
    }

    public async Task RunAsync(string step, Func<Task> check)
    {
        ArgumentNullException.ThrowIfNull(check);
        try
        {
            await check();
        }
        catch (XunitException ex)
        {
            _failures.Add(step.Length == 0 ? ex.Message : $"[{step}] {ex.Message}");
        }
    }

    public void WriteTo(ITestOutputHelper output)
    {
        foreach (var failure in _failures)
        {
            output.WriteLine("SOFT FAILURE " + failure);
        }
    }

    public void AssertNone()
    {
        if (_failures.Count > 0)
        {
            Assert.Fail($"{_failures.Count} check(s) failed:\n\n{string.Join("\n\n", _failures)}");
        }
    }
}
