using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ServerlessMeta.Deployment.Tests;

/// <summary>
/// The CI lint of infra/: the Bicep CLI from the Azure.Bicep.CommandLine.linux-x64 NuGet package compiles
/// infra/main.bicep and lints every .bicep file with infra/bicepconfig.json, and any warning or error fails.
/// Then the compiled ARM template is checked for what the deployment promises: identity-based settings only,
/// no shared keys, least-privilege roles, the .NET 10 isolated runtime on Flex Consumption, and every
/// setting the Functions host needs to index the app.
/// </summary>
public sealed partial class BicepTests
{
    private static readonly TimeSpan BicepTimeout = TimeSpan.FromMinutes(5);

    /// <summary>One `bicep build infra/main.bicep --stdout` shared by the tests that read the template.</summary>
    private static readonly Lazy<Task<ProcessResult>> MainBuild = new(
        () => BicepAsync(DeploymentLayout.InfraDirectory, "build", DeploymentLayout.MainBicep, "--stdout"));

    /// <summary>Built-in role definition ids the app's identity may hold, by name.</summary>
    private static readonly Dictionary<string, string> AllowedRoles = new(StringComparer.Ordinal)
    {
        ["ba92f5b4-2d11-453d-a403-e96b0029c9fe"] = "Storage Blob Data Contributor",
        ["974c5e8b-45b9-4653-ba55-5f855dd0fb88"] = "Storage Queue Data Contributor",
        ["0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"] = "Storage Table Data Contributor",
        ["3913510d-42f4-4e42-8a64-420c390055eb"] = "Monitoring Metrics Publisher",
    };

    [Fact]
    public async Task MainTemplateCompilesWithoutDiagnostics()
    {
        var result = await MainBuild.Value;

        Assert.True(result.ExitCode == 0, $"bicep build failed.\n{result.Transcript}");
        var diagnostics = DiagnosticLine().Matches(result.StandardError).Select(m => m.Value).ToList();
        Assert.True(diagnostics.Count == 0, $"bicep build reported:\n{string.Join('\n', diagnostics)}");
        using var template = JsonDocument.Parse(result.StandardOutput);
        Assert.Contains("subscriptionDeploymentTemplate", template.RootElement.GetProperty("$schema").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryBicepFileLintsWithoutWarningsOrErrors()
    {
        var files = Directory.GetFiles(DeploymentLayout.InfraDirectory, "*.bicep", SearchOption.AllDirectories);
        Assert.Contains(DeploymentLayout.MainBicep, files);

        var result = await BicepAsync(DeploymentLayout.InfraDirectory, "lint", "--pattern", "**/*.bicep", "--diagnostics-format", "sarif");

        var runs = SarifRuns(result.StandardOutput);
        Assert.True(runs.Count == files.Length, $"bicep lint reported on {runs.Count} files, infra/ has {files.Length}.\n{result.Transcript}");
        var findings = runs.SelectMany(r => r).Where(f => f.Level is "warning" or "error").ToList();
        Assert.True(
            findings.Count == 0,
            "bicep lint (infra/bicepconfig.json) must report no warning or error:\n" + string.Join('\n', findings.Select(f => f.ToString())));
        Assert.True(result.ExitCode == 0, $"bicep lint failed.\n{result.Transcript}");
    }

    [Fact]
    public async Task LinterAppliesTheRepositoryConfiguration()
    {
        // A file that breaks two rules the configuration raises to "error" and one left at its default level,
        // linted beside a copy of it: proves the configuration parses and is the one in force, and that warnings
        // (SARIF results without a level) are seen by the check above.
        var probe = Directory.CreateTempSubdirectory("smeta-bicep-probe-");
        try
        {
            File.Copy(Path.Combine(DeploymentLayout.InfraDirectory, "bicepconfig.json"), Path.Combine(probe.FullName, "bicepconfig.json"));
            var file = Path.Combine(probe.FullName, "probe.bicep");
            await File.WriteAllTextAsync(file, "param unused string\nvar quoted = { 'name': 'x' }\noutput url string = 'https://management.azure.com/${quoted.name}'\n");

            var result = await BicepAsync(probe.FullName, "lint", file, "--diagnostics-format", "sarif");

            var findings = SarifRuns(result.StandardOutput).SelectMany(r => r).ToList();
            Assert.Contains(findings, f => f is { Rule: "no-unused-params", Level: "error" });
            Assert.Contains(findings, f => f is { Rule: "no-hardcoded-env-urls", Level: "error" });
            Assert.Contains(findings, f => f is { Rule: "prefer-unquoted-property-names", Level: "warning" });
            Assert.NotEqual(0, result.ExitCode);
        }
        finally
        {
            probe.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TemplateUsesIdentityOnlyAndLeastPrivilegeRoles()
    {
        using var template = await CompileAsync();
        var json = template.RootElement.GetRawText();

        // Nothing reads an account key or builds a connection string with one.
        Assert.DoesNotContain("listKeys", json, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("AccountKey", json, StringComparison.OrdinalIgnoreCase);

        var storage = Resources(template.RootElement, "Microsoft.Storage/storageAccounts").Single();
        var properties = storage.GetProperty("properties");
        Assert.False(properties.GetProperty("allowSharedKeyAccess").GetBoolean(), "shared-key access must be disabled");
        Assert.False(properties.GetProperty("allowBlobPublicAccess").GetBoolean(), "public blob access must be disabled");
        Assert.Equal("TLS1_2", properties.GetProperty("minimumTlsVersion").GetString());

        Assert.Single(Resources(template.RootElement, "Microsoft.Insights/components"));
        var entraOnly = template.RootElement.GetProperty("parameters").GetProperty("applicationInsightsEntraOnly");
        Assert.True(entraOnly.GetProperty("defaultValue").GetBoolean(), "Application Insights must accept Entra ID-authenticated telemetry only by default");

        // Every role id in the template is one of the four data-plane roles, and all four are there.
        var roleIds = RoleId().Matches(json).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
        Assert.All(roleIds, id => Assert.True(AllowedRoles.ContainsKey(id), $"role definition {id} is not a least-privilege data-plane role of this deployment"));
        Assert.Equal(AllowedRoles.Keys.Order(StringComparer.Ordinal), roleIds.Order(StringComparer.Ordinal));
        Assert.NotEmpty(Resources(template.RootElement, "Microsoft.Authorization/roleAssignments"));
    }

    [Fact]
    public async Task FunctionAppIsDotnet10IsolatedOnFlexConsumption()
    {
        using var template = await CompileAsync();

        var plan = Resources(template.RootElement, "Microsoft.Web/serverfarms").Single();
        Assert.Equal("FC1", plan.GetProperty("sku").GetProperty("name").GetString());
        Assert.Equal("FlexConsumption", plan.GetProperty("sku").GetProperty("tier").GetString());

        var app = Resources(template.RootElement, "Microsoft.Web/sites").Single();
        Assert.Equal("functionapp,linux", app.GetProperty("kind").GetString());
        Assert.Equal("UserAssigned", app.GetProperty("identity").GetProperty("type").GetString());
        var config = app.GetProperty("properties").GetProperty("functionAppConfig");
        Assert.Equal("dotnet-isolated", config.GetProperty("runtime").GetProperty("name").GetString());
        Assert.Equal("10.0", config.GetProperty("runtime").GetProperty("version").GetString());
        var deployment = config.GetProperty("deployment").GetProperty("storage");
        Assert.Equal("blobContainer", deployment.GetProperty("type").GetString());
        Assert.Equal("UserAssignedIdentity", deployment.GetProperty("authentication").GetProperty("type").GetString());
    }

    [Fact]
    public async Task AppSettingsAreIdentityBasedAndCoverWhatTheHostNeeds()
    {
        using var template = await CompileAsync();
        var json = template.RootElement.GetRawText();
        var names = PropertyNames(template.RootElement);

        string[] required =
        [
            "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId", "AzureWebJobsStorage__blobServiceUri",
            "AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri",
            "SMETA_STORAGE__blobServiceUri", "SMETA_STORAGE__tableServiceUri", "SMETA_STORAGE__clientId",
            "SMETA_STORAGE__containerName", "SMETA_STORAGE__tableName",
            "SMETA_TASK_HUB", "RETRAIN_SCHEDULE",
            "SMETA_RETRAINING__Algorithm", "SMETA_RETRAINING__Rounds", "SMETA_RETRAINING__Shots", "SMETA_RETRAINING__Ways",
            "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        ];
        Assert.All(required, name => Assert.True(names.Contains(name), $"app setting {name} is missing from the template"));
        Assert.Matches(@"""AzureWebJobsStorage__credential"":\s*""managedidentity""", json);

        // Flex Consumption sets these itself and rejects them; a plain connection string would need a key.
        string[] forbidden = ["AzureWebJobsStorage", "SMETA_STORAGE", "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING"];
        Assert.All(forbidden, name => Assert.False(names.Contains(name), $"app setting {name} must not be set on a Flex Consumption app without shared keys"));

        // Every %SETTING% host.json reads, and every setting of the local sample, exists in Azure too (in
        // its identity-based form for the two storage connections; the runtime is functionAppConfig's).
        using var host = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(DeploymentLayout.RepositoryRoot, "host.json")));
        var hostSettings = SettingReference().Matches(host.RootElement.GetRawText()).Select(m => m.Groups["name"].Value).ToList();
        Assert.Contains("SMETA_TASK_HUB", hostSettings);
        Assert.All(hostSettings, name => Assert.True(names.Contains(name), $"host.json reads %{name}%, which the template does not set"));

        var localSettingsPath = Path.Combine(DeploymentLayout.RepositoryRoot, "src", "ServerlessMeta.Functions", "local.settings.json");
        using var local = JsonDocument.Parse(await File.ReadAllTextAsync(localSettingsPath));
        foreach (var setting in local.RootElement.GetProperty("Values").EnumerateObject().Select(p => p.Name))
        {
            if (setting == "FUNCTIONS_WORKER_RUNTIME")
            {
                continue;
            }

            Assert.True(
                names.Contains(setting) || names.Any(n => n.StartsWith(setting + "__", StringComparison.Ordinal)),
                $"local.settings.json sets {setting}, but infra/ configures neither it nor {setting}__* for Azure");
        }
    }

    private static async Task<JsonDocument> CompileAsync()
    {
        var result = await MainBuild.Value;
        Assert.True(result.ExitCode == 0, $"bicep build failed.\n{result.Transcript}");
        return JsonDocument.Parse(result.StandardOutput);
    }

    private static Task<ProcessResult> BicepAsync(string workingDirectory, params string[] arguments) =>
        ChildProcess.RunAsync(DeploymentLayout.BicepExecutable, arguments, workingDirectory, BicepTimeout);

    /// <summary>Resources of a type anywhere in the template, nested module deployments included.</summary>
    private static List<JsonElement> Resources(JsonElement element, string type)
    {
        var found = new List<JsonElement>();
        Walk(element);
        return found;

        void Walk(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    if (e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String &&
                        string.Equals(t.GetString(), type, StringComparison.OrdinalIgnoreCase) && e.TryGetProperty("apiVersion", out _))
                    {
                        found.Add(e);
                    }

                    foreach (var property in e.EnumerateObject())
                    {
                        Walk(property.Value);
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in e.EnumerateArray())
                    {
                        Walk(item);
                    }

                    break;
            }
        }
    }

    /// <summary>Every property name in the template: app settings are object keys there.</summary>
    private static HashSet<string> PropertyNames(JsonElement element)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        Walk(element);
        return names;

        void Walk(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in e.EnumerateObject())
                {
                    names.Add(property.Name);
                    Walk(property.Value);
                }
            }
            else if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in e.EnumerateArray())
                {
                    Walk(item);
                }
            }
        }
    }

    /// <summary>The findings of each run of a SARIF stream (`bicep lint --pattern` prints one log per file).</summary>
    private static List<List<Finding>> SarifRuns(string output)
    {
        var runs = new List<List<Finding>>();
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(output), new JsonReaderOptions { AllowMultipleValues = true });
        while (reader.Read())
        {
            using var log = JsonDocument.ParseValue(ref reader);
            foreach (var run in log.RootElement.GetProperty("runs").EnumerateArray())
            {
                runs.Add(run.GetProperty("results").EnumerateArray().Select(r => new Finding(
                    r.TryGetProperty("ruleId", out var rule) ? rule.GetString() ?? "" : "",
                    r.TryGetProperty("level", out var level) ? level.GetString() ?? "warning" : "warning",
                    r.GetProperty("message").GetProperty("text").GetString() ?? "",
                    Location(r))).ToList());
            }
        }

        return runs;
    }

    private static string Location(JsonElement result)
    {
        if (!result.TryGetProperty("locations", out var locations) || locations.GetArrayLength() == 0)
        {
            return "";
        }

        var physical = locations[0].GetProperty("physicalLocation");
        var uri = physical.GetProperty("artifactLocation").GetProperty("uri").GetString();
        var line = physical.TryGetProperty("region", out var region) && region.TryGetProperty("startLine", out var l) ? l.GetInt32() : 0;
        return $"{uri}:{line}";
    }

    private sealed record Finding(string Rule, string Level, string Message, string Location)
    {
        public override string ToString() => $"{Location}: {Level} {Rule}: {Message}";
    }

    [GeneratedRegex(@"^.*\) : (Warning|Error) .*$", RegexOptions.Multiline)]
    private static partial Regex DiagnosticLine();

    [GeneratedRegex(@"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex RoleId();

    [GeneratedRegex(@"%(?<name>[A-Za-z0-9_]+)%")]
    private static partial Regex SettingReference();
}
