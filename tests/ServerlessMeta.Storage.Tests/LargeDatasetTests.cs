using System.Diagnostics;
using ServerlessMeta.Storage.Tests.Infrastructure;
using Xunit.Abstractions;

namespace ServerlessMeta.Storage.Tests;

[Collection(AzuriteCollectionDefinition.Name)]
public sealed class LargeDatasetTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private const int ExampleCount = 100_000;
    private const int Features = 16;

    [Fact]
    public async Task OneHundredThousandExamplesAreReadBackWithBoundedMemory()
    {
        await using var storage = TestStorage.Create(azurite);
        await storage.Categories.CreateCategoryAsync("big-category");
        var write = Stopwatch.StartNew();
        await WriteAllAsync(storage.Datasets); // in its own method: nothing it built stays reachable from here
        write.Stop();
        var snapshot = (await storage.Datasets.TakeSnapshotAsync()).Categories.Single();
        var storedBytes = snapshot.PartLengths.Sum();
        Assert.Equal(ExampleCount, snapshot.ExampleCount);

        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long highest = long.MinValue, lowest = long.MaxValue, count = 0, indexSum = 0;
        var read = Stopwatch.StartNew();
        await foreach (var example in storage.Datasets.ReadExamplesAsync("big-category"))
        {
            Assert.Equal(Features, example.Features!.Count);
            var text = example.Text!;
            var index = int.Parse(text.AsSpan(5, text.IndexOf(' ', 5) - 5), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(count, index); // in append order, none lost, none repeated
            Assert.Equal($"label-{index % 20}", example.Label);
            Assert.Equal(index * 0.5f, example.Features![0]);
            indexSum += index;
            count++;
            if (count % 5_000 == 0)
            {
                var heap = GC.GetTotalMemory(forceFullCollection: true);
                (highest, lowest) = (Math.Max(highest, heap), Math.Min(lowest, heap));
            }
        }

        read.Stop();
        var peakGrowth = highest - baseline; // pooled buffers trimmed while reading can make this negative
        var spread = highest - lowest;       // what an implementation holding examples would grow by
        Assert.Equal(ExampleCount, count);
        Assert.Equal((long)ExampleCount * (ExampleCount - 1) / 2, indexSum);

        // What holding them all would cost, for scale.
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var held = await storage.Datasets.ReadExamplesAsync("big-category").ToListAsync();
        var heldBytes = GC.GetTotalMemory(forceFullCollection: true) - before;
        GC.KeepAlive(held);

        output.WriteLine($"stored {storedBytes / 1e6:F1} MB in {snapshot.PartLengths.Count} part(s); wrote in {write.Elapsed.TotalSeconds:F1} s, streamed in {read.Elapsed.TotalSeconds:F1} s");
        output.WriteLine($"managed heap while streaming (20 samples after full collections): peak {peakGrowth / 1e3:F1} KB above the baseline, range {spread / 1e3:F1} KB; holding all examples: {heldBytes / 1e6:F1} MB");
        Assert.True(storedBytes > 15_000_000, $"the dataset should be large: {storedBytes} bytes");
        Assert.True(peakGrowth < 4_000_000, $"streaming grew the heap by {peakGrowth} bytes");
        Assert.True(spread < 4_000_000, $"the heap ranged over {spread} bytes while streaming");
        Assert.True(Math.Max(peakGrowth, spread) * 10 < heldBytes, $"streaming ({Math.Max(peakGrowth, spread)} bytes) should need far less than holding everything ({heldBytes} bytes)");
    }

    private static async Task WriteAllAsync(DatasetStore datasets)
    {
        for (var start = 0; start < ExampleCount; start += DatasetStore.MaxExamplesPerAppend)
        {
            var batch = new List<StoredExample>(DatasetStore.MaxExamplesPerAppend);
            for (var i = start; i < start + DatasetStore.MaxExamplesPerAppend; i++)
            {
                batch.Add(Example(i));
            }

            await datasets.AppendExamplesAsync("big-category", batch);
        }
    }

    private static StoredExample Example(int index)
    {
        var features = new float[Features];
        for (var j = 0; j < Features; j++)
        {
            features[j] = index * 0.5f + j * 0.25f;
        }

        return new StoredExample(features, $"item {index} in the large category, label {index % 20}", $"label-{index % 20}");
    }
}
