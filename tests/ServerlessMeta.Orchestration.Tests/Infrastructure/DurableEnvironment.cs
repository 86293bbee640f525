using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using ServerlessMeta.Application;
using ServerlessMeta.Application.Pretraining;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Learning.Training;
using ServerlessMeta.Orchestration.Local;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Orchestration.Tests.Infrastructure;

/// <summary>
/// One test's world on the shared Azurite: its own container, table and task hub, a small synthetic
/// catalogue stored through <see cref="DatasetStore"/>, the client-side services, and helpers to run
/// workers in this process or as separate <c>smeta worker</c> processes.
/// </summary>
internal sealed class DurableEnvironment : IAsyncDisposable
{
    private readonly List<WorkerProcess> _processes = [];
    private readonly List<LocalDurableWorker> _workers = [];

    private DurableEnvironment(AzuriteFixture azurite)
    {
        var suffix = Guid.NewGuid().ToString("N")[..12];
        ConnectionString = azurite.ConnectionString;
        ContainerName = "t" + suffix;
        TableName = "T" + suffix;
        TaskHubName = "hub" + suffix;
        Services = LocalPretrainingHost.CreateServices(ConnectionString, ContainerName, TableName, "test-client");
        Client = new LocalDurableClient(Engine("test-client"));
    }

    public string ConnectionString { get; }

    public string ContainerName { get; }

    public string TableName { get; }

    public string TaskHubName { get; }

    public ServiceProvider Services { get; }

    public LocalDurableClient Client { get; }

    public PretrainingData Data => Services.GetRequiredService<PretrainingData>();

    public PretrainingRounds Rounds => Services.GetRequiredService<PretrainingRounds>();

    public PretrainingRegistration Registration => Services.GetRequiredService<PretrainingRegistration>();

    public RunArtifactStore Artifacts => Services.GetRequiredService<RunArtifactStore>();

    public MetaModelRegistry MetaModels => Services.GetRequiredService<MetaModelRegistry>();

    /// <summary>A task hub and a stored catalogue of <paramref name="categories"/> categories.</summary>
    public static async Task<DurableEnvironment> CreateAsync(AzuriteFixture azurite, int categories = 20, SyntheticCatalogOptions? catalog = null)
    {
        var environment = new DurableEnvironment(azurite);
        await environment.Client.CreateTaskHubAsync();
        await environment.SeedAsync(categories, catalog ?? new SyntheticCatalogOptions { ItemsPerLabel = 16, MinLabels = 5, MaxLabels = 6, TextDimension = 64 });
        return environment;
    }

    public LocalEngineOptions Engine(string workerId) => new()
    {
        ConnectionString = ConnectionString,
        TaskHubName = TaskHubName,
        WorkerId = workerId,
        VisibilityTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>A worker in this process.</summary>
    public async Task<LocalDurableWorker> StartInProcessWorkerAsync(string workerId)
    {
        var worker = await LocalDurableWorker.StartAsync(Engine(workerId), Services);
        _workers.Add(worker);
        return worker;
    }

    /// <summary>A separate <c>smeta worker</c> process on this task hub; returns once it reports ready.</summary>
    public async Task<WorkerProcess> StartWorkerProcessAsync(string workerId)
    {
        var process = await WorkerProcess.StartAsync(this, workerId);
        _processes.Add(process);
        return process;
    }

    /// <summary>The in-process reference: <see cref="MetaTrainer"/> for <paramref name="rounds"/> iterations on the run's training data.</summary>
    public async Task<MetaModel> InProcessReferenceAsync(PretrainingPlan plan, int rounds)
    {
        var data = await Data.GetDataAsync(plan);
        var config = new ModelConfig { TaskKind = TaskKind.Classification, InputDimension = data.Featurizer.OutputDimension, HiddenWidths = [plan.HiddenWidth] };
        var model = MetaModel.Create(plan.ParsedAlgorithm, config, plan.Hyperparameters(), data.Featurizer, plan.Seed);
        MetaTrainer.Train(model, data.TrainingSampler(plan), new TrainingOptions { Iterations = rounds, MetaBatchSize = plan.MetaBatchSize, Seed = plan.Seed, Threads = 1 });
        return model;
    }

    /// <summary>The stored checkpoint of a round.</summary>
    public async Task<MetaModel> CheckpointAsync(string runId, int round)
    {
        var bytes = await Artifacts.ReadAsync(runId, RunArtifactNames.Checkpoint(round));
        return MetaModel.Load(bytes.ToStream());
    }

    public async Task<List<MetaModelVersion>> VersionsOfRunAsync(string runId)
    {
        var versions = new List<MetaModelVersion>();
        await foreach (var version in MetaModels.ListVersionsAsync())
        {
            if (version.PretrainingRunId == runId)
            {
                versions.Add(version);
            }
        }

        return versions;
    }

    public static double MaxDifference(MetaModel a, MetaModel b)
    {
        var x = a.Parameters.ToData();
        var y = b.Parameters.ToData();
        Assert.Equal(x.Select(p => p.Name), y.Select(p => p.Name));
        return x.Zip(y, (p, q) => p.Data.Values.Zip(q.Data.Values, (u, v) => Math.Abs(u - v)).Max()).Max();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            process.Dispose();
        }

        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        try
        {
            await Client.DeleteTaskHubAsync();
        }
        catch (Exception ex) when (ex is InvalidOperationException or Azure.RequestFailedException)
        {
            // best effort: the Azurite instance goes away with the fixture anyway
        }

        await Services.DisposeAsync();
    }

    private async Task SeedAsync(int count, SyntheticCatalogOptions options)
    {
        var catalog = new SyntheticCatalog(options, seed: 5);
        var registry = Services.GetRequiredService<CategoryRegistry>();
        var datasets = Services.GetRequiredService<DatasetStore>();
        await Services.GetRequiredService<StorageMaintenance>().InitializeAsync();
        foreach (var category in catalog.Generate("cat", count))
        {
            await registry.CreateCategoryAsync(category.CategoryId);
            await datasets.AppendExamplesAsync(category.CategoryId, [.. category.Items.Select(i => new StoredExample(i.Features, i.Text, i.Label[(i.Label.IndexOf('/', StringComparison.Ordinal) + 1)..]))]);
        }
    }
}

/// <summary>An <c>smeta worker</c> child process (killed with SIGKILL by <see cref="Kill"/>).</summary>
internal sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private WorkerProcess(Process process) => _process = process;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public static async Task<WorkerProcess> StartAsync(DurableEnvironment environment, string workerId)
    {
        var directory = AppContext.BaseDirectory;
        var testAssembly = typeof(WorkerProcess).Assembly.GetName().Name!;
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };

        // The test's deps and runtimeconfig cover smeta.dll's dependencies (the test references the CLI).
        foreach (var argument in new[]
        {
            "exec", "--runtimeconfig", Path.Combine(directory, testAssembly + ".runtimeconfig.json"), "--depsfile", Path.Combine(directory, testAssembly + ".deps.json"),
            Path.Combine(directory, "smeta.dll"), "worker", "--storage", environment.ConnectionString, "--container", environment.ContainerName,
            "--table", environment.TableName, "--task-hub", environment.TaskHubName, "--worker-id", workerId, "--activities", "2", "--visibility-timeout", "5",
        })
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        var worker = new WorkerProcess(process);
        process.OutputDataReceived += (_, e) => worker.Append(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var ready = await Task.WhenAny(worker._ready.Task, Task.Delay(TimeSpan.FromSeconds(60)));
        if (ready != worker._ready.Task)
        {
            worker.Dispose();
            throw new InvalidOperationException($"smeta worker {workerId} did not report ready within 60 s. Output:\n{worker.Output}");
        }

        return worker;
    }

    /// <summary>SIGKILL on Linux: no shutdown code runs.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
            _process.WaitForExit(10_000);
        }
    }

    public void Dispose()
    {
        try
        {
            Kill();
        }
        catch (InvalidOperationException)
        {
            // never started or already reaped
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (line.Contains(" ready on task hub ", StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }
}
