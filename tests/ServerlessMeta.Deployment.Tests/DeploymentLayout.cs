using System.Reflection;
using System.Runtime.InteropServices;

namespace ServerlessMeta.Deployment.Tests;

/// <summary>Where the repository and the restored Bicep CLI are (embedded by the test project at build time).</summary>
internal static class DeploymentLayout
{
    public static string RepositoryRoot { get; } = Metadata("RepositoryRoot");

    public static string InfraDirectory => Path.Combine(RepositoryRoot, "infra");

    public static string MainBicep => Path.Combine(InfraDirectory, "main.bicep");

    public static string FunctionsProject => Path.Combine(RepositoryRoot, "src", "ServerlessMeta.Functions", "ServerlessMeta.Functions.csproj");

    /// <summary>The <c>bicep</c> executable inside the restored Azure.Bicep.CommandLine.linux-x64 package.</summary>
    public static string BicepExecutable
    {
        get
        {
            Assert.True(
                OperatingSystem.IsLinux() && RuntimeInformation.OSArchitecture == Architecture.X64,
                "The deployment tests use the linux-x64 Bicep CLI package; run them on Linux x64 (as CI does).");
            var path = Path.Combine(Metadata("BicepPackageDirectory"), "tools", "bicep");
            Assert.True(File.Exists(path), $"{path} does not exist: restore tests/ServerlessMeta.Deployment.Tests.");
            return path;
        }
    }

    private static string Metadata(string key)
    {
        var value = typeof(DeploymentLayout).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value;
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new InvalidOperationException(
                $"The test assembly has no '{key}' metadata: build tests/ServerlessMeta.Deployment.Tests after a restore (the Bicep package's path property comes from it).");
        }

        return value;
    }
}
