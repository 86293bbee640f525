namespace ServerlessMeta.Application.IntegrationTests;

/// <summary>The shared model cache: one load per key, leases, and disposal of what leaves the cache.</summary>
public sealed class LoadedModelCacheTests
{
    [Fact]
    public async Task ConcurrentCallersShareOneLoad()
    {
        using var cache = new LoadedModelCache<int, Model>(4);
        var loads = 0;
        var gate = new TaskCompletionSource();
        async Task<Model> Load(int key)
        {
            Interlocked.Increment(ref loads);
            await gate.Task;
            return new Model(key);
        }

        var first = cache.AcquireAsync(1, Load);
        var second = cache.AcquireAsync(1, Load);
        gate.SetResult();
        using var a = await first;
        using var b = await second;

        Assert.Same(a.Model, b.Model);
        Assert.Equal(1, loads);
    }

    [Fact]
    public async Task AnEvictedModelIsDisposedWhenItsLastLeaseEnds()
    {
        using var cache = new LoadedModelCache<int, Model>(1);
        var leased = await cache.AcquireAsync(1, Load);
        var idle = await cache.AcquireAsync(2, Load); // evicts 1, still leased
        Assert.False(cache.Contains(1));
        Assert.False(leased.Model.Disposed);

        leased.Dispose();
        leased.Dispose(); // a second dispose releases nothing more
        Assert.True(leased.Model.Disposed);

        idle.Dispose();
        Assert.False(idle.Model.Disposed);
        using var third = await cache.AcquireAsync(3, Load); // evicts 2, idle: disposed at once
        Assert.True(idle.Model.Disposed);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task TheLeastRecentlyUsedModelGoesFirst()
    {
        using var cache = new LoadedModelCache<int, Model>(2);
        (await cache.AcquireAsync(1, Load)).Dispose();
        (await cache.AcquireAsync(2, Load)).Dispose();
        (await cache.AcquireAsync(1, Load)).Dispose();
        (await cache.AcquireAsync(3, Load)).Dispose();

        Assert.True(cache.Contains(1));
        Assert.False(cache.Contains(2));
        Assert.True(cache.Contains(3));
    }

    [Fact]
    public async Task AFailedLoadIsNotKept()
    {
        using var cache = new LoadedModelCache<int, Model>(2);
        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.AcquireAsync(1, _ => throw new InvalidOperationException("first")));
        await Assert.ThrowsAsync<IOException>(() => cache.AcquireAsync(1, _ => Task.FromException<Model>(new IOException("second"))));
        Assert.Equal(0, cache.Count);

        using var lease = await cache.AcquireAsync(1, Load);
        Assert.Equal(1, lease.Model.Key);
    }

    [Fact]
    public async Task ACancelledWaitLeavesTheLoadToFinishForOthers()
    {
        using var cache = new LoadedModelCache<int, Model>(2);
        var gate = new TaskCompletionSource();
        using var cancellation = new CancellationTokenSource();
        var waiting = cache.AcquireAsync(1, async key => { await gate.Task; return new Model(key); }, cancellation.Token);
        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        gate.SetResult();
        using var lease = await cache.AcquireAsync(1, _ => throw new InvalidOperationException("loaded twice"));
        Assert.False(lease.Model.Disposed);
    }

    [Fact]
    public async Task DisposingTheCacheDisposesIdleModelsNowAndLeasedOnesOnRelease()
    {
        var cache = new LoadedModelCache<int, Model>(4);
        var idle = await cache.AcquireAsync(1, Load);
        idle.Dispose();
        var leased = await cache.AcquireAsync(2, Load);

        cache.Dispose();

        Assert.True(idle.Model.Disposed);
        Assert.False(leased.Model.Disposed);
        leased.Dispose();
        Assert.True(leased.Model.Disposed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => cache.AcquireAsync(3, Load));
    }

    private static Task<Model> Load(int key) => Task.FromResult(new Model(key));

    private sealed class Model(int key) : IDisposable
    {
        public int Key { get; } = key;

        public bool Disposed { get; private set; }

        public void Dispose()
        {
            Assert.False(Disposed, $"Model {Key} was disposed twice.");
            Disposed = true;
        }
    }
}
