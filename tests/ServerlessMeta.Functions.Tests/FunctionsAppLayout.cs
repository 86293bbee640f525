using System.Reflection;
using System.Text.Json;

namespace ServerlessMeta.Functions.Tests;

/// <summary>Where the Functions app's build output and the repository are (embedded by the test project at build time).</summary>
internal static class FunctionsAppLayout
{
    public static string OutputDirectory { get; } = Metadata("FunctionsAppOutputDirectory");

    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");

    public static string ProjectDirectory => Path.Combine(RepositoryRoot, "src", "ServerlessMeta.Functions");

    /// <summary>A file of the Functions app's build output; fails the test naming the path when it is missing.</summary>
    public static string OutputFile(string relativePath)
    {
        var path = Path.Combine(OutputDirectory, relativePath);
        Assert.True(File.Exists(path), $"{path} does not exist: build src/ServerlessMeta.Functions first.");
        return path;
    }

    public static JsonDocument ReadJson(string path) =>
        JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });

    private static string Metadata(string key)
    {
        var value = typeof(FunctionsAppLayout).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value;
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new InvalidOperationException($"The test assembly has no '{key}' metadata: the test project's SmetaEmbedFunctionsAppLocations target did not run.");
        }

        return value;
    }
}
