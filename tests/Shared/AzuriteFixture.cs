using ServerlessMeta.Orchestration.Local;

namespace ServerlessMeta.Testing;

/// <summary>
/// Real storage for the tests: the connection string in SMETA_TEST_STORAGE when set, otherwise a private in-memory
/// Azurite (<see cref="LocalAzurite"/>: the repository's node_modules, free loopback ports, process tree killed
/// afterwards). When Azurite cannot start, the tests fail saying what to do.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public const string AccountName = LocalAzurite.AccountName;

    /// <summary>Azurite's well-known development key (public, not a secret).</summary>
    public const string AccountKey = LocalAzurite.AccountKey;

    private LocalAzurite? _azurite;

    public string ConnectionString { get; private set; } = string.Empty;

    /// <summary>True when this fixture started Azurite (false when SMETA_TEST_STORAGE was used).</summary>
    public bool StartedAzurite => _azurite is not null;

    public async Task InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable("SMETA_TEST_STORAGE");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            ConnectionString = configured;
            return;
        }

        try
        {
            _azurite = await LocalAzurite.StartAsync();
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException(
                $"The storage tests cannot run without Azurite (or set SMETA_TEST_STORAGE to a storage connection string): {e.Message}", e);
        }

        ConnectionString = _azurite.ConnectionString;
    }

    public Task DisposeAsync()
    {
        _azurite?.Dispose();
        _azurite = null;
        return Task.CompletedTask;
    }
}

/// <summary>Every test class of an assembly that uses storage shares one Azurite.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollectionDefinition : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
