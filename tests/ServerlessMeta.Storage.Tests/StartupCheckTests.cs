using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;

namespace ServerlessMeta.Storage.Tests;

/// <summary>
/// The start-up check of SMETA_STORAGE (issue 11): one line naming the setting and what is wrong, against a real Azurite,
/// a refused port and a port that accepts connections but never answers.
/// </summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class StartupCheckTests(AzuriteFixture azurite)
{
    private static IConfiguration Settings(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static async Task<string> FailsAsync(IConfiguration configuration)
    {
        var e = await Assert.ThrowsAsync<StorageConfigurationException>(() => StorageStartupCheck.VerifyAsync(configuration));
        Assert.StartsWith("SMETA_STORAGE", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        return e.Message;
    }

    [Fact]
    public async Task AzuritePasses()
    {
        var options = await StorageStartupCheck.VerifyAsync(Settings(("SMETA_STORAGE", azurite.ConnectionString)));
        Assert.Equal(azurite.ConnectionString, options.ConnectionString);
    }

    [Theory]
    [InlineData("", "is set but empty")]
    [InlineData("   ", "is set but empty")]
    [InlineData("garbage", "is not a connection string")]
    [InlineData("Server=db;Database=x", "names no AccountName")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=acct", "has no AccountKey")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=not base64!", "AccountKey is not a base64 key")]
    public async Task AMalformedValueIsNamedWithoutANetworkCall(string value, string expected)
    {
        var message = await FailsAsync(Settings(("SMETA_STORAGE", value)));
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnsetStorageNamesBothWaysToConfigureIt()
    {
        var message = await FailsAsync(Settings());
        Assert.Contains("SMETA_STORAGE__blobServiceUri", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWrongKeyIsAuthenticationFailed()
    {
        var wrong = azurite.ConnectionString.Replace(AzuriteFixture.AccountKey, Convert.ToBase64String(new byte[64]), StringComparison.Ordinal);
        Assert.NotEqual(azurite.ConnectionString, wrong);
        var message = await FailsAsync(Settings(("SMETA_STORAGE", wrong)));
        Assert.Contains("authentication failed", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARefusedPortIsUnreachable()
    {
        var port = FreePort();
        var message = await FailsAsync(Settings(("SMETA_STORAGE", ConnectionString(port)), ("SMETA_STORAGE:startupTimeout", "00:00:05")));
        Assert.Contains("endpoint unreachable", message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APortThatNeverAnswersIsUnreachableWithinTheStartupTimeout()
    {
        // The kernel completes the handshake for a listener nobody accepts from: the request is sent and never answered.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(backlog: 64);
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var message = await FailsAsync(Settings(("SMETA_STORAGE", ConnectionString(port)), ("SMETA_STORAGE:startupTimeout", "00:00:01")));
        Assert.Contains("endpoint unreachable within 1 s", message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadTimeoutSettingIsNamed()
    {
        var options = new StorageOptions { ConnectionString = "UseDevelopmentStorage=true", NetworkTimeout = TimeSpan.Zero };
        var e = Assert.Throws<StorageConfigurationException>(() => options.Validate());
        Assert.Contains("SMETA_STORAGE__networkTimeout", e.Message, StringComparison.Ordinal);
    }

    private static string ConnectionString(int port) =>
        $"DefaultEndpointsProtocol=http;AccountName={AzuriteFixture.AccountName};AccountKey={AzuriteFixture.AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{port}/{AzuriteFixture.AccountName};TableEndpoint=http://127.0.0.1:{port}/{AzuriteFixture.AccountName};";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>What counts as storage being unavailable (503) rather than answering (an error of its own).</summary>
public sealed class StorageFaultsTests
{
    [Fact]
    public void OutagesAreUnavailableAndAnswersAreNot()
    {
        Assert.True(StorageFaults.IsUnavailable(new Azure.RequestFailedException(503, "busy")));
        Assert.True(StorageFaults.IsUnavailable(new Azure.RequestFailedException(0, "no response", new HttpRequestException("refused"))));
        Assert.True(StorageFaults.IsUnavailable(new AggregateException(new TaskCanceledException("network timeout"), new Azure.RequestFailedException(500, "x"))));
        Assert.True(StorageFaults.IsUnavailable(new InvalidOperationException("wrapped", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.False(StorageFaults.IsUnavailable(new Azure.RequestFailedException(403, "denied")));
        Assert.False(StorageFaults.IsUnavailable(new Azure.RequestFailedException(409, "conflict")));
        Assert.False(StorageFaults.IsUnavailable(new AggregateException(new Azure.RequestFailedException(503, "x"), new Azure.RequestFailedException(404, "y"))));

        // A cancellation the caller asked for is not an outage.
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.False(StorageFaults.IsUnavailable(new OperationCanceledException(cancelled.Token), cancelled.Token));
        Assert.True(StorageFaults.IsUnavailable(new OperationCanceledException()));
    }

    [Fact]
    public void DescriptionsCarryNoResponseText()
    {
        var denied = new Azure.RequestFailedException(403, "Server failed to authenticate the request. RequestId:abc Time:2026", "AuthenticationFailed", null);
        Assert.Equal("authentication failed (the account key or credential was refused)", StorageFaults.Describe(denied));
        Assert.Equal("no answer within 2 s", StorageFaults.Describe(new TaskCanceledException(), TimeSpan.FromSeconds(2)));
        Assert.Equal("endpoint unreachable (connection refused)", StorageFaults.Describe(new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (127.0.0.1:1)")));
        Assert.DoesNotContain("RequestId", StorageFaults.Describe(new Azure.RequestFailedException(500, "Internal RequestId:abc", "InternalError", null)), StringComparison.Ordinal);
    }
}
