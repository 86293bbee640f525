using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Cli.Serving;
using ServerlessMeta.Orchestration.Local;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Cli.Durable;

/// <summary>
/// <c>smeta worker</c>: a Durable Task worker process for pretraining on a task hub (the local engine:
/// DurableTask.AzureStorage, Azurite locally). Any number of them can share a hub; each takes activities
/// from the shared work-item queue. Runs until interrupted (Ctrl+C, SIGTERM).
/// </summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var storage = new Option<string?>("--storage") { Description = "Storage connection string (default: the SMETA_STORAGE environment variable)." };
        var container = new Option<string>("--container") { Description = "Blob container of ServerlessMeta's data.", DefaultValueFactory = _ => "serverlessmeta" };
        var table = new Option<string>("--table") { Description = "Table of ServerlessMeta's metadata.", DefaultValueFactory = _ => "ServerlessMeta" };
        var hub = new Option<string>("--task-hub") { Description = "Durable task hub name.", DefaultValueFactory = _ => "smetapretraining" };
        var workerId = new Option<string>("--worker-id") { Description = "This worker's identity (partition leases, shard results).", DefaultValueFactory = _ => $"{Environment.MachineName}-{Environment.ProcessId}" };
        var activities = new Option<int>("--activities") { Description = "Activities run at once (default: the number of cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var visibility = new Option<int>("--visibility-timeout") { Description = "Seconds before a dead worker's in-flight work items are re-delivered.", DefaultValueFactory = _ => 15 };
        var polling = new Option<int>("--max-polling-interval-ms")
        {
            Description = "Longest wait between polls of an idle queue. Workers in separate processes see each other's messages only by polling, so this defaults lower than in a single process (smeta serve: 1000).",
            DefaultValueFactory = _ => 100,
        };
        polling.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 50 or > 30_000)
            {
                result.AddError("--max-polling-interval-ms must be between 50 and 30000.");
            }
        });
        var verbose = new Option<bool>("--verbose") { Description = "Log every shard and round." };
        var command = new Command("worker", "Run a Durable Task worker for pretraining on a task hub (local engine over Azure Storage or Azurite).")
        {
            storage, container, table, hub, workerId, activities, visibility, polling, verbose,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.Error();
            var fromOption = parse.GetValue(storage);
            var setting = fromOption is null ? StorageOptions.DefaultSettingName : "--storage";
            var connection = fromOption ?? Environment.GetEnvironmentVariable(StorageOptions.DefaultSettingName);
            if (connection is null)
            {
                await error.WriteLineAsync($"smeta worker: no storage: pass --storage or set {StorageOptions.DefaultSettingName} to a connection string (a worker needs the storage its task hub shares).").ConfigureAwait(false);
                return 2;
            }

            try
            {
                await StorageStartupCheck.VerifyAsync(
                    new ConfigurationBuilder().AddInMemoryCollection([new(setting, connection)]).Build(), setting, cancellationToken).ConfigureAwait(false);
            }
            catch (StorageConfigurationException e)
            {
                await error.WriteLineAsync($"smeta worker: {e.Message}").ConfigureAwait(false);
                if (parse.GetValue(verbose))
                {
                    await error.WriteLineAsync(e.ToString()).ConfigureAwait(false);
                }

                return 1;
            }

            var id = parse.GetValue(workerId)!;
            await using var services = LocalPretrainingHost.CreateServices(connection, parse.GetValue(container)!, parse.GetValue(table)!, id, logging => logging
                .AddSimpleConsole(o => o.SingleLine = true)
                .SetMinimumLevel(LogLevel.Warning)
                .AddFilter("ServerlessMeta", parse.GetValue(verbose) ? LogLevel.Debug : LogLevel.Information));
            var engine = new LocalEngineOptions
            {
                ConnectionString = connection,
                TaskHubName = parse.GetValue(hub)!,
                WorkerId = id,
                MaxConcurrentActivities = Math.Max(1, parse.GetValue(activities)),
                VisibilityTimeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(visibility))),
                MaxQueuePollingInterval = TimeSpan.FromMilliseconds(parse.GetValue(polling)),
            };
            await using var worker = await LocalDurableWorker.StartAsync(engine, services, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"worker {id} ready on task hub {engine.TaskHubName}");
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine($"worker {id} stopping");
            }

            return 0;
        });
        return command;
    }
}
