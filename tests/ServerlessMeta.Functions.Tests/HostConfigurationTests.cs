using System.Text.Json;

namespace ServerlessMeta.Functions.Tests;

/// <summary>host.json, the local settings sample and the native libraries, as the build output has them.</summary>
public sealed class HostConfigurationTests
{
    [Fact]
    public void HostJsonInTheOutputConfiguresDurableTaskForCpuHeavyActivities()
    {
        using var host = FunctionsAppLayout.ReadJson(FunctionsAppLayout.OutputFile("host.json"));
        var root = host.RootElement;
        Assert.Equal("2.0", root.GetProperty("version").GetString());

        var durableTask = root.GetProperty("extensions").GetProperty("durableTask");
        Assert.Equal("%SMETA_TASK_HUB%", durableTask.GetProperty("hubName").GetString());
        var maxActivities = durableTask.GetProperty("maxConcurrentActivityFunctions").GetInt32();
        Assert.InRange(maxActivities, 1, Environment.ProcessorCount <= 4 ? 4 : Environment.ProcessorCount);
        Assert.Equal(JsonValueKind.Object, durableTask.GetProperty("storageProvider").ValueKind);
    }

    [Fact]
    public void HostJsonInTheOutputHasTheApiRoutePrefixAndAFunctionTimeout()
    {
        using var host = FunctionsAppLayout.ReadJson(FunctionsAppLayout.OutputFile("host.json"));
        var root = host.RootElement;
        Assert.Equal("api", root.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        var timeout = TimeSpan.Parse(root.GetProperty("functionTimeout").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(timeout, TimeSpan.FromMinutes(10), TimeSpan.FromHours(2));
    }

    [Fact]
    public void HostJsonInTheOutputIsTheRepositoryRootOne()
    {
        var output = File.ReadAllText(FunctionsAppLayout.OutputFile("host.json"));
        var root = File.ReadAllText(Path.Combine(FunctionsAppLayout.RepositoryRoot, "host.json"));
        Assert.Equal(root, output);
    }

    [Fact]
    public void LocalSettingsSampleUsesAzuriteAndHoldsNoSecrets()
    {
        using var settings = FunctionsAppLayout.ReadJson(Path.Combine(FunctionsAppLayout.ProjectDirectory, "local.settings.json"));
        var root = settings.RootElement;
        Assert.False(root.GetProperty("IsEncrypted").GetBoolean());
        var values = root.GetProperty("Values").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString(), StringComparer.Ordinal);
        Assert.Equal("UseDevelopmentStorage=true", values["AzureWebJobsStorage"]);
        Assert.Equal("UseDevelopmentStorage=true", values["SMETA_STORAGE"]);
        Assert.Equal("dotnet-isolated", values["FUNCTIONS_WORKER_RUNTIME"]);
        Assert.False(string.IsNullOrWhiteSpace(values["SMETA_TASK_HUB"]));
        Assert.Equal("0 0 3 * * *", values["RETRAIN_SCHEDULE"]);
        Assert.All(values.Values, value => Assert.DoesNotContain("AccountKey=", value ?? string.Empty, StringComparison.OrdinalIgnoreCase));
        Assert.False(root.TryGetProperty("ConnectionStrings", out _), "The sample holds no connection strings section.");
    }

    [Fact]
    public void OutputHasThePatchedTorchSharpNativeLibrary()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var library = FunctionsAppLayout.OutputFile(Path.Combine("runtimes", "linux-x64", "native", "libLibTorchSharp.so"));
        Assert.True(new FileInfo(library).Length > 0);
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(library)!, "libtorch_cpu.so")), "libtorch_cpu.so is missing beside libLibTorchSharp.so.");
    }
}
