using System.CommandLine;
using System.Globalization;

namespace ServerlessMeta.Cli.Benchmarks;

/// <summary>
/// <c>smeta bench faults</c>: runs <see cref="FaultDrill"/> for a frozen and for a killed Azurite and prints, per
/// fault, the longest request while storage was out, the recovery time after it came back, and what became of every
/// category created or attempted meanwhile.
/// </summary>
internal static class FaultBenchmark
{
    public static Command CreateCommand()
    {
        var fault = new Option<string>("--fault") { Description = "freeze (SIGSTOP/SIGCONT), kill (stop Azurite with SIGTERM, restart it on the same data folder) or both.", DefaultValueFactory = _ => "both" };
        fault.AcceptOnlyFromAmong("freeze", "kill", "both");
        var defaults = FaultDrillOptions.Default;
        var outage = new Option<double>("--outage-seconds") { Description = "How long storage stays out.", DefaultValueFactory = _ => defaults.Outage.TotalSeconds };
        var timeout = new Option<double>("--request-timeout-seconds") { Description = "The service's request deadline (SMETA_API__REQUESTTIMEOUT).", DefaultValueFactory = _ => defaults.RequestTimeout.TotalSeconds };
        var network = new Option<double>("--network-timeout-seconds") { Description = "One storage try's timeout (SMETA_STORAGE__NETWORKTIMEOUT).", DefaultValueFactory = _ => defaults.NetworkTimeout.TotalSeconds };
        var clients = new Option<int>("--clients") { Description = "Concurrent clients sending creates and predicts.", DefaultValueFactory = _ => defaults.Clients };
        clients.Positive();
        foreach (var option in new[] { outage, timeout, network })
        {
            option.Validators.Add(r =>
            {
                if (r.GetValueOrDefault<double>() is <= 0 or > 600)
                {
                    r.AddError($"{option.Name} must be between 0 and 600.");
                }
            });
        }

        var json = BenchmarkOptions.Json();
        var command = new Command("faults", "Storage outages under load on a real Azurite: the longest request while storage is frozen or down, and the recovery time once it is back.")
        {
            fault, outage, timeout, network, clients, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = defaults with
            {
                Outage = TimeSpan.FromSeconds(parse.GetValue(outage)),
                RequestTimeout = TimeSpan.FromSeconds(parse.GetValue(timeout)),
                NetworkTimeout = TimeSpan.FromSeconds(parse.GetValue(network)),
                Clients = parse.GetValue(clients),
            };
            var faults = parse.GetValue(fault) switch
            {
                "freeze" => new[] { StorageFault.Freeze },
                "kill" => [StorageFault.Kill],
                _ => [StorageFault.Freeze, StorageFault.Kill],
            };
            foreach (var kind in faults)
            {
                var report = await FaultDrill.RunAsync(kind, options, Console.Error, cancellationToken).ConfigureAwait(false);
                var figures = report.ToJson();
                if (parse.GetValue(json))
                {
                    Console.WriteLine(figures.ToJsonString());
                }
                else
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{figures["fault"]}: {figures["requests"]} requests ({figures["requests_during_fault"]} during the {options.Outage.TotalSeconds:0.#} s outage), statuses {figures["status_counts"]!.ToJsonString()}; " +
                        $"longest request {figures["longest_request_seconds"]} s (deadline {options.RequestTimeout.TotalSeconds:0.#} s), health at most {figures["longest_health_during_fault_seconds"]} s; " +
                        $"recovered {figures["recovery_seconds"]} s after storage returned; created {figures["created"]} ({figures["created_incomplete"]} incomplete); " +
                        $"timed-out creates {figures["timed_out_creates"]!.ToJsonString()}; base category intact: {figures["base_category_intact"]}"));
                }
            }

            return 0;
        });
        return command;
    }
}
