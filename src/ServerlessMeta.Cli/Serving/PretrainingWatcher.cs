using ServerlessMeta.Orchestration;

namespace ServerlessMeta.Cli.Serving;

/// <summary>Polls <c>GET /api/pretraining/{id}</c> until the run is no longer Pending or Running.</summary>
internal static class PretrainingWatcher
{
    public static async Task<PretrainingRunStatus> WaitAsync(ApiClient client, string instanceId, ProgressBar? bar, TimeSpan interval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var path = "api/pretraining/" + ApiClient.Escape(instanceId);
        try
        {
            while (true)
            {
                var status = await client.GetAsync<PretrainingRunStatus>(path, cancellationToken).ConfigureAwait(false);
                bar?.Update(status);
                if (!PretrainingWatcher.IsActive(status))
                {
                    return status;
                }

                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            bar?.Finish();
        }
    }

    /// <summary>True while the run is Pending or Running (or reported no status yet).</summary>
    public static bool IsActive(PretrainingRunStatus status) =>
        status.RuntimeStatus is null or PretrainingRunStatus.Pending or PretrainingRunStatus.Running;

    /// <summary>One line about a finished run: its status, whether its meta-model is served, and its test figures.</summary>
    public static string Describe(PretrainingRunStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (status.RuntimeStatus != "Completed")
        {
            return $"pretraining run {status.InstanceId} {status.RuntimeStatus?.ToLowerInvariant()}{(status.Failure is { } f ? ": " + f : string.Empty)}";
        }

        var output = status.Output;
        if (output is null)
        {
            return $"pretraining run {status.InstanceId} completed (no outcome reported)";
        }

        var served = output.Served ? $"served as meta-model version {output.Version}" : "NOT served";
        return $"pretraining run {status.InstanceId} completed: {served}; held-out test accuracy {TextOutput.Percent(output.TestAccuracy)} " +
            $"vs nearest centroid {TextOutput.Percent(output.BaselineAccuracy)} (best round {output.BestRound}/{output.Rounds}){(!output.Served && output.Reason is { } r ? ": " + r : string.Empty)}";
    }
}
