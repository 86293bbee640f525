using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ServerlessMeta.Storage.Tests.Infrastructure;

namespace ServerlessMeta.Storage.Tests;

/// <summary>One setting; its shape (connection string or service URIs), not the environment's name, picks the authentication.</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class ConfigurationTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task AConnectionStringSettingReachesAzuriteThroughTheHostBuilder()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        var container = "c" + Guid.NewGuid().ToString("N")[..12];
        var table = "T" + Guid.NewGuid().ToString("N")[..12];
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["SMETA_STORAGE"] = azurite.ConnectionString,
            ["SMETA_STORAGE:containerName"] = container,
            ["SMETA_STORAGE:tableName"] = table,
        });
        builder.AddServerlessMetaStorage();
        using var host = builder.Build();

        var blobs = host.Services.GetRequiredService<BlobServiceClient>();
        Assert.True(blobs.CanGenerateAccountSasUri); // shared key from the connection string
        await host.Services.GetRequiredService<StorageMaintenance>().InitializeAsync();
        Assert.True((await blobs.GetBlobContainerClient(container).ExistsAsync()).Value);
        var created = await host.Services.GetRequiredService<CategoryRegistry>().CreateCategoryAsync("configured");
        Assert.Equal("configured", created.Id);
        var entity = await host.Services.GetRequiredService<TableServiceClient>().GetTableClient(table).GetEntityAsync<TableEntity>("categories", "configured");
        Assert.Equal("configured", entity.Value.RowKey);

        await blobs.DeleteBlobContainerAsync(container);
        await host.Services.GetRequiredService<TableServiceClient>().DeleteTableAsync(table);
    }

    [Fact]
    public void ServiceUrisSelectATokenCredentialWithoutAnyConnectionString()
    {
        var setting = "SMETA_TEST_" + Guid.NewGuid().ToString("N")[..8].ToUpperInvariant();
        Environment.SetEnvironmentVariable($"{setting}__blobServiceUri", "https://smetaprod.blob.core.windows.net");
        Environment.SetEnvironmentVariable($"{setting}__tableServiceUri", "https://smetaprod.table.core.windows.net");
        Environment.SetEnvironmentVariable($"{setting}__clientId", "00000000-0000-0000-0000-000000000001");
        try
        {
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.Configuration.AddEnvironmentVariables();
            builder.AddServerlessMetaStorage(setting);
            using var host = builder.Build();

            var blobs = host.Services.GetRequiredService<BlobServiceClient>();
            Assert.Equal(new Uri("https://smetaprod.blob.core.windows.net"), blobs.Uri);
            Assert.False(blobs.CanGenerateAccountSasUri); // no shared key: DefaultAzureCredential
            var tables = host.Services.GetRequiredService<TableServiceClient>();
            Assert.Equal(new Uri("https://smetaprod.table.core.windows.net"), tables.Uri);
            Assert.NotNull(host.Services.GetRequiredService<CategoryRegistry>());
        }
        finally
        {
            foreach (var key in new[] { "blobServiceUri", "tableServiceUri", "clientId" })
            {
                Environment.SetEnvironmentVariable($"{setting}__{key}", null);
            }
        }
    }

    [Fact]
    public void AnAccountNameStandsForBothServiceUris()
    {
        var services = new ServiceCollection();
        services.AddServerlessMetaStorage(Configuration(new() { ["AzureWebJobsStorage:accountName"] = "smetaacct" }), "AzureWebJobsStorage");
        using var provider = services.BuildServiceProvider();
        Assert.Equal(new Uri("https://smetaacct.blob.core.windows.net"), provider.GetRequiredService<BlobServiceClient>().Uri);
        Assert.Equal(new Uri("https://smetaacct.table.core.windows.net"), provider.GetRequiredService<TableServiceClient>().Uri);
    }

    [Fact]
    public void MissingOrInvalidSettingsFailAtRegistrationNamingTheSetting()
    {
        var missing = Assert.Throws<StorageConfigurationException>(() => new ServiceCollection().AddServerlessMetaStorage(Configuration(new())));
        Assert.Contains("SMETA_STORAGE", missing.Message, StringComparison.Ordinal);
        Assert.Contains("UseDevelopmentStorage=true", missing.Message, StringComparison.Ordinal);
        Assert.Contains("blobServiceUri", missing.Message, StringComparison.Ordinal);

        var onlyBlob = Assert.Throws<StorageConfigurationException>(() => new ServiceCollection().AddServerlessMetaStorage(
            Configuration(new() { ["SMETA_STORAGE:blobServiceUri"] = "https://a.blob.core.windows.net" })));
        Assert.Contains("tableServiceUri", onlyBlob.Message, StringComparison.Ordinal);

        var container = Assert.Throws<StorageConfigurationException>(() => new ServiceCollection().AddServerlessMetaStorage(
            Configuration(new() { ["SMETA_STORAGE"] = "UseDevelopmentStorage=true", ["SMETA_STORAGE:containerName"] = "Bad_Name" })));
        Assert.Contains("containerName", container.Message, StringComparison.Ordinal);

        var table = Assert.Throws<StorageConfigurationException>(() => new ServiceCollection().AddServerlessMetaStorage(
            Configuration(new() { ["SMETA_STORAGE"] = "UseDevelopmentStorage=true", ["SMETA_STORAGE:tableName"] = "has-hyphen" })));
        Assert.Contains("tableName", table.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DevelopmentStorageShorthandIsAConnectionStringLikeAnyOther()
    {
        var options = StorageOptions.FromConfiguration(Configuration(new() { ["SMETA_STORAGE"] = "UseDevelopmentStorage=true" }));
        Assert.Equal("UseDevelopmentStorage=true", options.ConnectionString);
        Assert.Null(options.BlobServiceUri);
        options.Validate();

        var services = new ServiceCollection();
        services.AddServerlessMetaStorage(Configuration(new() { ["SMETA_STORAGE"] = "UseDevelopmentStorage=true" }));
        using var provider = services.BuildServiceProvider();
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), provider.GetRequiredService<BlobServiceClient>().Uri);
    }

    private static IConfiguration Configuration(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
