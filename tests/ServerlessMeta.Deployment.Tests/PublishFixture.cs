namespace ServerlessMeta.Deployment.Tests;

/// <summary>
/// Publishes the Functions app once for the publish tests, the way <c>azd deploy</c> builds it:
/// <c>dotnet publish src/ServerlessMeta.Functions -c Release -o DIR</c>, with no runtime identifier, so the
/// tests also prove that the project publishes the Linux-only layout by default.
/// Everything goes to a temporary folder: <c>--artifacts-path</c> keeps the build's obj/ and bin/ out of the
/// working tree (no restore with a runtime identifier rewrites the projects' project.assets.json while other
/// builds use them), and <c>--disable-build-servers</c> leaves no MSBuild node or compiler server running.
/// The folder is deleted afterwards. It is slow (a full Release build of the app and a 500 MB copy).
/// </summary>
public sealed class PublishFixture : IAsyncLifetime
{
    /// <summary>The runtime identifier the project publishes for by default.</summary>
    public const string RuntimeIdentifier = "linux-x64";

    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(30);
    private DirectoryInfo? _root;

    /// <summary>The publish folder (what a deployment zips).</summary>
    public string Directory { get; private set; } = string.Empty;

    internal ProcessResult Result { get; private set; } = new(-1, string.Empty, "not run", TimeSpan.Zero);

    public async Task InitializeAsync()
    {
        _root = System.IO.Directory.CreateTempSubdirectory("smeta-publish-");
        Directory = Path.Combine(_root.FullName, "publish");
        string[] arguments =
        [
            "publish", DeploymentLayout.FunctionsProject,
            "-c", "Release",
            "-o", Directory,
            "--artifacts-path", Path.Combine(_root.FullName, "artifacts"),
            "--disable-build-servers",
            "-nologo",
            "-v:minimal",
        ];
        Result = await ChildProcess.RunAsync(DotnetHost(), arguments, DeploymentLayout.RepositoryRoot, PublishTimeout, CleanEnvironment);
    }

    public Task DisposeAsync()
    {
        try
        {
            _root?.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is not worth failing the run for.
        }

        return Task.CompletedTask;
    }

    /// <summary>Fails the calling test with the publish transcript unless the publish succeeded.</summary>
    public void AssertPublished() =>
        Assert.True(Result.ExitCode == 0 && System.IO.Directory.Exists(Directory), $"dotnet publish failed.\n{Result.Transcript}");

    public string PathOf(string relativePath) => Path.Combine(Directory, relativePath);

    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(host) && File.Exists(host) ? host : "dotnet";
    }

    /// <summary>
    /// The test host inherits MSBuild's variables from `dotnet test` (MSBuildExtensionsPath, MSBuildSDKsPath, ...);
    /// a nested build must resolve its own SDK from global.json instead.
    /// </summary>
    private static void CleanEnvironment(IDictionary<string, string?> environment)
    {
        foreach (var name in environment.Keys.Where(IsBuildVariable).ToList())
        {
            environment.Remove(name);
        }

        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
    }

    private static bool IsBuildVariable(string name) =>
        name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) ||
        name.StartsWith("_MSBUILD", StringComparison.OrdinalIgnoreCase) ||
        name.Equals("RuntimeIdentifier", StringComparison.OrdinalIgnoreCase) ||
        name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase);
}
