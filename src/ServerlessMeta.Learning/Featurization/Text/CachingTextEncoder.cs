namespace ServerlessMeta.Learning.Featurization.Text;

/// <summary>
/// Remembers the vectors of the most recently embedded texts (least recently used first out), so a text
/// that comes back (a category's examples on every feedback, a check before featurizing) is embedded
/// once per process. Misses of one call go to the inner encoder in one batch. Thread-safe.
/// </summary>
public sealed class CachingTextEncoder : ITextEncoder
{
    private readonly ITextEncoder _inner;
    private readonly int _capacity;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedListNode<(string Text, float[] Vector)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Text, float[] Vector)> _recency = new();
    private long _hits;
    private long _misses;

    public CachingTextEncoder(ITextEncoder inner, int capacity)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _inner = inner;
        _capacity = capacity;
    }

    public TextEncoderInfo Info => _inner.Info;

    /// <summary>The encoder behind the cache.</summary>
    public ITextEncoder Inner => _inner;

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public void Embed(IReadOnlyList<string> texts, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var dimension = Info.Dimension;
        if (destination.Length != texts.Count * dimension)
        {
            throw new ArgumentException($"destination has {destination.Length} elements; {texts.Count} x {dimension} expected.", nameof(destination));
        }

        var missing = new List<int>();
        lock (_gate)
        {
            for (var i = 0; i < texts.Count; i++)
            {
                if (_entries.TryGetValue(texts[i], out var node))
                {
                    _recency.Remove(node);
                    _recency.AddFirst(node);
                    node.Value.Vector.CopyTo(destination.Slice(i * dimension, dimension));
                }
                else
                {
                    missing.Add(i);
                }
            }
        }

        Interlocked.Add(ref _hits, texts.Count - missing.Count);
        Interlocked.Add(ref _misses, missing.Count);
        if (missing.Count == 0)
        {
            return;
        }

        var distinct = missing.Select(i => texts[i]).Distinct(StringComparer.Ordinal).ToList();
        var vectors = new float[distinct.Count * dimension];
        _inner.Embed(distinct, vectors);
        var byText = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (var j = 0; j < distinct.Count; j++)
        {
            byText[distinct[j]] = vectors.AsSpan(j * dimension, dimension).ToArray();
        }

        foreach (var i in missing)
        {
            byText[texts[i]].CopyTo(destination.Slice(i * dimension, dimension));
        }

        if (_capacity == 0)
        {
            return;
        }

        lock (_gate)
        {
            foreach (var (text, vector) in byText)
            {
                if (_entries.ContainsKey(text))
                {
                    continue;
                }

                _entries[text] = _recency.AddFirst((text, vector));
                while (_entries.Count > _capacity)
                {
                    var last = _recency.Last!;
                    _recency.RemoveLast();
                    _entries.Remove(last.Value.Text);
                }
            }
        }
    }
}

/// <summary>
/// An encoder that answers from vectors computed elsewhere (pretraining's embedding phase) and passes
/// only what it was not given to the real encoder. Thread-safe once built.
/// </summary>
public sealed class PrecomputedTextEncoder(ITextEncoder fallback, IReadOnlyDictionary<string, float[]> vectors) : ITextEncoder
{
    private long _fallbackTexts;

    public TextEncoderInfo Info => fallback.Info;

    /// <summary>Texts that were not precomputed and went to the real encoder.</summary>
    public long FallbackTexts => Interlocked.Read(ref _fallbackTexts);

    public void Embed(IReadOnlyList<string> texts, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var dimension = Info.Dimension;
        var missing = new List<int>();
        for (var i = 0; i < texts.Count; i++)
        {
            if (vectors.TryGetValue(texts[i], out var vector))
            {
                vector.CopyTo(destination.Slice(i * dimension, dimension));
            }
            else
            {
                missing.Add(i);
            }
        }

        if (missing.Count > 0)
        {
            Interlocked.Add(ref _fallbackTexts, missing.Count);
            var computed = new float[missing.Count * dimension];
            fallback.Embed([.. missing.Select(i => texts[i])], computed);
            for (var j = 0; j < missing.Count; j++)
            {
                computed.AsSpan(j * dimension, dimension).CopyTo(destination.Slice(missing[j] * dimension, dimension));
            }
        }
    }
}
