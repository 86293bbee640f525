using static TorchSharp.torch;

namespace ServerlessMeta.Learning.Tests;

public class NativeLibraryTests
{
    [Fact]
    public void TorchSharpNativeLibraryLoadsAndRunsForwardAndBackward()
    {
        // On Debian 12 this only works because the build marks libLibTorchSharp.so's GLIBCXX_3.4.32 need as weak.
        using var scope = NewDisposeScope();
        var w = tensor(new float[] { 1f, 2f, 3f }, [3, 1]).requires_grad_(true);
        var x = tensor(new float[] { 1f, 1f, 1f, 2f, 0f, 1f }, [2, 3]);
        var loss = x.mm(w).pow(2).sum();
        loss.backward();
        Assert.Equal(6f * 6f + 5f * 5f, loss.item<float>(), 4);
        // d/dw sum((xw)^2) = 2 xᵀ(xw)
        Assert.Equal(new[] { 2f * (6 + 10), 2f * 6, 2f * (6 + 5) }, w.grad!.data<float>().ToArray());
    }

    [Fact]
    public void BuildOutputCarriesTheNativeLibrary()
    {
        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (OperatingSystem.IsLinux())
        {
            Assert.True(File.Exists(native), $"{native} is missing from the build output.");
        }
    }
}
