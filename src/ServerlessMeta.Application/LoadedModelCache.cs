namespace ServerlessMeta.Application;

/// <summary>
/// Models loaded from storage, shared by concurrent callers and bounded to a capacity (the least recently
/// used goes first). A caller holds a <see cref="ModelLease{TModel}"/> while it uses a model; a model that
/// is evicted, or whose cache is disposed, is disposed as soon as its last lease ends. Native memory is so
/// released when the model leaves the cache, not whenever a finalizer happens to run.
/// </summary>
internal sealed class LoadedModelCache<TKey, TModel>(int capacity) : IDisposable
    where TKey : notnull
    where TModel : class, IDisposable
{
    private readonly int _capacity = Math.Max(1, capacity);
    private readonly Lock _lock = new();
    private readonly Dictionary<TKey, Entry> _entries = [];
    private readonly LinkedList<Entry> _recency = new();
    private bool _disposed;

    /// <summary>Models held (loaded or loading).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Whether the model of <paramref name="key"/> is held (loaded or loading).</summary>
    public bool Contains(TKey key)
    {
        lock (_lock)
        {
            return _entries.ContainsKey(key);
        }
    }

    /// <summary>
    /// A lease on the model of <paramref name="key"/>, loaded by <paramref name="load"/> once for all
    /// concurrent callers. A failed load is not kept: the next caller tries again. Dispose the lease when
    /// done with the model, and never dispose the model itself.
    /// </summary>
    public async Task<ModelLease<TModel>> AcquireAsync(TKey key, Func<TKey, Task<TModel>> load, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(load);
        Entry entry;
        List<Entry> idle;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_entries.TryGetValue(key, out entry!))
            {
                entry = new Entry(key, new Lazy<Task<TModel>>(() => Start(load, key)));
                _entries.Add(key, entry);
            }
            else
            {
                _recency.Remove(entry.Node);
            }

            _recency.AddFirst(entry.Node);
            entry.Leases++;
            idle = [];
            while (_entries.Count > _capacity)
            {
                EvictLocked(_recency.Last!.Value, idle);
            }
        }

        DisposeAll(idle);
        try
        {
            var model = await entry.Loading.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
            return new ModelLease<TModel>(model, () => Release(entry));
        }
        catch
        {
            Release(entry);
            throw;
        }
    }

    private static Task<TModel> Start(Func<TKey, Task<TModel>> load, TKey key)
    {
        try
        {
            return load(key);
        }
        catch (Exception e)
        {
            return Task.FromException<TModel>(e);
        }
    }

    /// <summary>Evicts everything: idle models are disposed now, leased ones when their last lease ends.</summary>
    public void Dispose()
    {
        var idle = new List<Entry>();
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            while (_recency.Last is { } last)
            {
                EvictLocked(last.Value, idle);
            }
        }

        DisposeAll(idle);
    }

    private void Release(Entry entry)
    {
        var idle = new List<Entry>(1);
        lock (_lock)
        {
            entry.Leases--;
            var loading = entry.Loading.Value;
            if (!entry.Evicted && loading.IsCompleted && !loading.IsCompletedSuccessfully)
            {
                EvictLocked(entry, idle);
            }
            else if (entry.Evicted && entry.Leases == 0)
            {
                idle.Add(entry);
            }
        }

        DisposeAll(idle);
    }

    private void EvictLocked(Entry entry, List<Entry> idle)
    {
        _entries.Remove(entry.Key);
        _recency.Remove(entry.Node);
        entry.Evicted = true;
        if (entry.Leases == 0)
        {
            idle.Add(entry);
        }
    }

    private static void DisposeAll(List<Entry> entries)
    {
        foreach (var entry in entries)
        {
            // A load still running when its entry went idle is disposed when it completes.
            _ = entry.Loading.Value.ContinueWith(
                static loaded =>
                {
                    if (loaded.IsCompletedSuccessfully)
                    {
                        loaded.Result.Dispose();
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    private sealed class Entry
    {
        public Entry(TKey key, Lazy<Task<TModel>> loading)
        {
            Key = key;
            Loading = loading;
            Node = new LinkedListNode<Entry>(this);
        }

        public TKey Key { get; }

        public Lazy<Task<TModel>> Loading { get; }

        public LinkedListNode<Entry> Node { get; }

        public int Leases { get; set; }

        public bool Evicted { get; set; }
    }
}

/// <summary>The right to use a cached model until disposed. Disposing twice is harmless.</summary>
internal sealed class ModelLease<TModel>(TModel model, Action release) : IDisposable
    where TModel : class
{
    private Action? _release = release;

    public TModel Model { get; } = model;

    public void Dispose() => Interlocked.Exchange(ref _release, null)?.Invoke();
}
