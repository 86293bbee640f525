using System.CommandLine;
using System.Data.Common;
using ServerlessMeta.LocalHost;

namespace ServerlessMeta.Cli.Serving;

/// <summary>
/// <c>smeta serve</c>: the whole service in this process (HTTP routes, the Durable Task worker, the
/// retraining schedule). Keys like the Functions host: requests carry <c>SMETA_API_KEY</c> in
/// <c>x-functions-key</c> (or <c>?code=</c>); without it a key is generated and printed. Storage is
/// <c>SMETA_STORAGE</c>; without it a private in-memory Azurite runs and stops on exit. Prints
/// <c>listening on http://127.0.0.1:P</c> when ready; stops cleanly on Ctrl+C and SIGTERM.
/// </summary>
internal static class ServeCommand
{
    public const string StorageVariable = "SMETA_STORAGE";
    public const int DefaultPort = 7071;

    /// <summary><c>--text-encoder minilm|hashed</c>: the text features of new models (default: $SMETA_TEXT_ENCODER, else minilm).</summary>
    public static Option<string?> TextEncoderOption()
    {
        var option = new Option<string?>("--text-encoder")
        {
            Description = $"Text features of new models: minilm (the all-MiniLM-L6-v2 sentence encoder beside hashed n-grams) or hashed (n-grams only). Default: ${Application.TextFeaturesOptions.SettingName}, else minilm.",
        };
        option.AcceptOnlyFromAmong([.. Application.TextFeaturesOptions.Names]);
        return option;
    }

    /// <summary>What the server's new models featurize text with, in words.</summary>
    public static string DescribeTextFeatures(LocalServer server)
    {
        var encoders = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Application.TextEncoders>(server.Services);
        return encoders.ForNewModels is { } info
            ? $"{info.Name} sentence embeddings (offline, {info.Dimension} dimensions) + hashed n-grams"
            : "hashed n-grams only";
    }

    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "Loopback port to listen on (7071 is the Functions host's; 0 picks a free one).", DefaultValueFactory = _ => DefaultPort };
        port.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > 65535)
            {
                r.AddError("--port must be between 0 and 65535.");
            }
        });
        var verbose = new Option<bool>("--verbose") { Description = "Log requests, pretraining rounds and retraining at Information level." };
        var textEncoder = TextEncoderOption();
        var command = new Command(
            "serve",
            $"Run the service locally: the HTTP API (docs/api.md), durable pretraining and the retraining schedule in one process. " +
            $"Requests need the key from ${LocalServerOptions.ApiKeyVariable} in x-functions-key (or ?code=); when it is unset a key is generated and printed. " +
            $"Storage is ${StorageVariable} (a connection string); when it is unset a private in-memory Azurite from the repository's node_modules is started and stopped on exit.")
        {
            port, verbose, textEncoder,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var (output, error) = (parse.Out(), parse.Error());
            if (Environment.GetEnvironmentVariable(StorageVariable) is { } raw && string.IsNullOrWhiteSpace(raw))
            {
                await error.WriteLineAsync($"smeta serve: {Storage.StorageStartupCheck.SetButEmpty(StorageVariable).Message}").ConfigureAwait(false);
                return 2;
            }

            var options = new LocalServerOptions
            {
                Port = parse.GetValue(port),
                StorageConnectionString = Variable(StorageVariable),
                ApiKey = Variable(LocalServerOptions.ApiKeyVariable),
                TextEncoder = parse.GetValue(textEncoder),
            };
            options.Logging = parse.GetValue(verbose) ? ServerLogging.Verbose : ServerLogging.Quiet;

            LocalServer server;
            try
            {
                server = await LocalServer.StartAsync(options, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return 130;
            }
            catch (Exception ex)
            {
                // One line naming what is wrong (the storage check names SMETA_STORAGE); the whole story with --verbose.
                await error.WriteLineAsync($"smeta serve: {FirstLine(ex.Message)}").ConfigureAwait(false);
                if (parse.GetValue(verbose))
                {
                    await error.WriteLineAsync(ex.ToString()).ConfigureAwait(false);
                }

                return 1;
            }

            await using (server.ConfigureAwait(false))
            {
                if (server.ApiKeyGenerated)
                {
                    await output.WriteLineAsync($"api key: {server.ApiKey}  (generated; set {LocalServerOptions.ApiKeyVariable} to choose it; send it in x-functions-key)").ConfigureAwait(false);
                }

                await output.WriteLineAsync($"text features: {DescribeTextFeatures(server)}").ConfigureAwait(false);
                await output.WriteLineAsync($"storage: {DescribeStorage(server.StorageConnectionString, server.StartedAzurite)}{(server.StartedAzurite ? " (stopped on exit)" : string.Empty)}").ConfigureAwait(false);
                await output.WriteLineAsync($"listening on {ListeningAddress(server.BaseAddress)}").ConfigureAwait(false);
                await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    await output.WriteLineAsync("stopping").ConfigureAwait(false);
                    await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }

            return 0;
        });
        return command;
    }

    /// <summary><c>http://127.0.0.1:P</c>: the base address without its trailing slash.</summary>
    public static string ListeningAddress(Uri baseAddress)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        return baseAddress.GetLeftPart(UriPartial.Authority);
    }

    /// <summary>Where the data is, without the account key.</summary>
    public static string DescribeStorage(string connectionString, bool startedAzurite)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            return startedAzurite ? "private in-memory Azurite" : $"${StorageVariable}";
        }

        string? Get(string name) => builder.TryGetValue(name, out var value) ? value?.ToString() : null;
        var blob = Get("BlobEndpoint");
        if (startedAzurite)
        {
            return $"private in-memory Azurite, blobs at {blob}";
        }

        if (Get("UseDevelopmentStorage") is { } dev && dev.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            return $"${StorageVariable} (development storage)";
        }

        return $"${StorageVariable} (account {Get("AccountName") ?? "?"}{(blob is null ? string.Empty : ", blobs at " + blob)})";
    }

    /// <summary>The first line of a message (start-up errors are printed as one line).</summary>
    public static string FirstLine(string message) => message.Split('\n', 2)[0].TrimEnd('\r');

    public static string? Variable(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}
