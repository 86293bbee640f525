namespace ServerlessMeta.Cli.Serving;

/// <summary>Polls <c>GET /api/pretraining/{id}</c> until the run is no longer Pending or Running.</summary>
internal static class PretrainingWatcher
{
    public static async Task<PretrainingRunResponse> WaitAsync(ApiClient client, string instanceId, ProgressBar? bar, TimeSpan interval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var path = "api/pretraining/" + ApiClient.Escape(instanceId);
        try
        {
            while (true)
            {
                var status = await client.GetAsync<PretrainingRunResponse>(path, cancellationToken).ConfigureAwait(false);
                bar?.Update(status);
                if (!status.IsActive)
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

    /// <summary>One line about a finished run: its status, whether its meta-model is served, and its test figures.</summary>
    public static string Describe(PretrainingRunResponse status)
    {
        ArgumentNullException.ThrowIfNull(status);
        if (status.RuntimeStatus != "Completed")
        {
            return $"pretraining run {status.InstanceId} {status.RuntimeStatus?.ToLowerInvariant()}{(status.FailureText is { } f ? ": " + f : string.Empty)}";
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
