using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ServerlessMeta.Application;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Orchestration.Local;

/// <summary>Wires storage, the application services and a local worker the same way in every local process (CLI worker, tests, benchmark).</summary>
public static class LocalPretrainingHost
{
    /// <summary>
    /// Services for a worker or client process: ServerlessMeta storage in <paramref name="containerName"/>
    /// and <paramref name="tableName"/> of the account in <paramref name="connectionString"/>, and the
    /// application services identifying themselves as <paramref name="workerId"/>.
    /// </summary>
    public static ServiceProvider CreateServices(string connectionString, string containerName, string tableName, string workerId, Action<ILoggingBuilder>? logging = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [StorageOptions.DefaultSettingName] = connectionString,
            [StorageOptions.DefaultSettingName + ":containerName"] = containerName,
            [StorageOptions.DefaultSettingName + ":tableName"] = tableName,
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging(builder => logging?.Invoke(builder));
        services.AddServerlessMetaStorage(configuration);
        services.AddServerlessMetaApplication(options => options.WorkerId = workerId);
        return services.BuildServiceProvider();
    }
}
