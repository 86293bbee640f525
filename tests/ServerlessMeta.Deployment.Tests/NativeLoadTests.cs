using System.Runtime.InteropServices;
using Xunit.Abstractions;

namespace ServerlessMeta.Deployment.Tests;

/// <summary>
/// Proves that the published libLibTorchSharp.so loads from the publish folder on this Debian 12 machine
/// (glibc 2.36, libstdc++ up to GLIBCXX_3.4.30, like the Functions Linux images of that generation), the way
/// TorchSharp loads it in the worker: <c>dlopen</c> of the file by path, its libtorch dependencies found
/// through its <c>$ORIGIN</c> run path, i.e. in the same folder.
/// <list type="number">
/// <item>Nothing of libtorch is mapped in this process beforehand (the test project references no TorchSharp),
/// so whatever gets mapped comes from this load.</item>
/// <item>Control: a copy with the weak mark removed, placed in the same folder, is refused by the loader for
/// GLIBCXX_3.4.32 (when the system libstdc++ lacks it): the test would catch a missing patch.</item>
/// <item>The published library loads; /proc/self/maps shows it and every library of its closure that the
/// folder provides mapped from the publish folder, and from nowhere else.</item>
/// <item>Calls into it reach libtorch_cpu (<c>at::get_num_threads</c>) and c10 (a Scalar round trip).</item>
/// </list>
/// The library stays loaded until the test process exits: unloading libtorch is not supported.
/// </summary>
[Collection(PublishGroup.Name)]
public sealed unsafe partial class NativeLoadTests(PublishFixture publish, ITestOutputHelper output)
{
    private const string Library = "libLibTorchSharp.so";

    [Fact]
    public void PublishedLibTorchSharpLoadsFromThePublishFolderAndRuns()
    {
        publish.AssertPublished();
        Assert.True(OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64, "this check runs on Linux x64");
        // /proc/self/maps shows canonical paths: resolve symbolic links (a TMPDIR under one, say) the same way.
        var folder = RealPath(publish.Directory);
        var closure = PublishOutputTests.NativeClosure(folder, Library).Local;

        var preloaded = MappedLibraries().Where(m => closure.Contains(Path.GetFileName(m))).ToList();
        Assert.True(preloaded.Count == 0, "libtorch is already loaded in the test process, so this check would prove nothing:\n" + string.Join('\n', preloaded));

        RefusedWithoutTheWeakMark(folder);

        var handle = NativeLibrary.Load(Path.Combine(folder, Library));
        Assert.NotEqual(IntPtr.Zero, handle);

        var mapped = MappedLibraries().Where(m => closure.Contains(Path.GetFileName(m))).ToList();
        foreach (var name in closure)
        {
            var places = mapped.Where(m => Path.GetFileName(m) == name).Select(Path.GetDirectoryName).Distinct(StringComparer.Ordinal).ToList();
            Assert.True(places.Count == 1 && places[0] == folder, $"{name} is mapped from [{string.Join(", ", places)}], expected only {folder}");
        }

        output.WriteLine($"loaded from {folder}: {string.Join(", ", closure)}");

        var getNumThreads = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "THSTorch_get_num_threads");
        var toScalar = (delegate* unmanaged<double, IntPtr>)NativeLibrary.GetExport(handle, "THSTorch_float64_to_scalar");
        var toDouble = (delegate* unmanaged<IntPtr, double>)NativeLibrary.GetExport(handle, "THSTorch_scalar_to_float64");
        var dispose = (delegate* unmanaged<IntPtr, void>)NativeLibrary.GetExport(handle, "THSTorch_dispose_scalar");

        var threads = getNumThreads();
        Assert.InRange(threads, 1, 4096);
        var scalar = toScalar(2.5);
        Assert.NotEqual(IntPtr.Zero, scalar);
        try
        {
            Assert.Equal(2.5, toDouble(scalar));
        }
        finally
        {
            dispose(scalar);
        }

        output.WriteLine($"at::get_num_threads() = {threads}; c10::Scalar round trip ok");
    }

    /// <summary>
    /// ONNX Runtime, which runs the sentence encoder, loads from the publish folder on this Debian 12 machine
    /// and answers through its C API (OrtGetApiBase()->GetVersionString()) with the pinned version.
    /// </summary>
    [Fact]
    public void PublishedOnnxRuntimeLoadsFromThePublishFolderAndAnswers()
    {
        publish.AssertPublished();
        var folder = RealPath(publish.Directory);
        var handle = NativeLibrary.Load(Path.Combine(folder, "libonnxruntime.so"));
        Assert.NotEqual(IntPtr.Zero, handle);
        Assert.Contains(MappedLibraries(), m => m == Path.Combine(folder, "libonnxruntime.so"));
        var getApiBase = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(handle, "OrtGetApiBase");
        var apiBase = getApiBase();
        Assert.NotEqual(IntPtr.Zero, apiBase);
        // struct OrtApiBase { const OrtApi* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); }
        var getVersion = (delegate* unmanaged<IntPtr>)Marshal.ReadIntPtr(apiBase, IntPtr.Size);
        var version = Marshal.PtrToStringUTF8(getVersion());
        Assert.Equal("1.31.1", version);
        output.WriteLine($"libonnxruntime.so {version} loaded from {folder}");
    }

    /// <summary>The control: the same library without the weak mark does not load here (when the system lacks GLIBCXX_3.4.32).</summary>
    private void RefusedWithoutTheWeakMark(string folder)
    {
        var probe = Path.Combine(folder, "libLibTorchSharp-unpatched-probe.so");
        File.Copy(Path.Combine(folder, Library), probe, overwrite: true);
        try
        {
            var need = Assert.Single(ElfFile.Read(probe).VersionNeeds, n => n.Version == "GLIBCXX_3.4.32");
            var flags = (ushort)(need.Flags & ~VersionNeed.WeakFlag);
            using (var stream = new FileStream(probe, FileMode.Open, FileAccess.Write))
            {
                stream.Position = need.FlagsOffset;
                stream.Write([(byte)(flags & 0xff), (byte)(flags >> 8)]);
            }

            Assert.False(ElfFile.Read(probe).VersionNeeds.Single(n => n.Version == "GLIBCXX_3.4.32").IsWeak);

            if (NativeLibrary.TryLoad(probe, out var unexpected))
            {
                // The system libstdc++ is GCC 13 or newer: the control cannot fail here, which is fine for deployment
                // but means this machine does not exercise the patch.
                NativeLibrary.Free(unexpected);
                output.WriteLine("control inconclusive: the system libstdc++ provides GLIBCXX_3.4.32, so the unpatched library loads too");
                return;
            }

            var error = Assert.Throws<DllNotFoundException>(() => NativeLibrary.Load(probe));
            Assert.Contains("GLIBCXX_3.4.32", error.Message, StringComparison.Ordinal);
            output.WriteLine($"control: without the weak mark the loader refuses the library: {error.Message}");
        }
        finally
        {
            File.Delete(probe);
        }
    }

    private static string RealPath(string path)
    {
        var resolved = RealPath(path, IntPtr.Zero);
        Assert.True(resolved != IntPtr.Zero, $"realpath({path}) failed");
        try
        {
            return Marshal.PtrToStringUTF8(resolved)!;
        }
        finally
        {
            Free(resolved);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPath(string path, IntPtr resolvedPath);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);

    /// <summary>Paths of the files mapped into this process (/proc/self/maps).</summary>
    private static List<string> MappedLibraries() =>
        File.ReadLines("/proc/self/maps")
            .Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields.Length == 6 && fields[5].StartsWith('/'))
            .Select(fields => fields[5].Trim())
            .Distinct(StringComparer.Ordinal)
            .ToList();
}
