using static TorchSharp.torch;

namespace ServerlessMeta.Learning.Models;

/// <summary>Shape of one named parameter.</summary>
public sealed record ParameterSpec(string Name, long[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// A tensor's values in managed memory: what crosses process, storage and serialisation
/// boundaries. Never holds native memory.
/// </summary>
public sealed record TensorData(long[] Shape, float[] Values)
{
    public static TensorData From(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = NewDisposeScope();
        var contiguous = tensor.detach().to(ScalarType.Float32).contiguous().cpu();
        return new TensorData(contiguous.shape, contiguous.data<float>().ToArray());
    }

    /// <summary>A new tensor (owned by the caller's dispose scope, if any).</summary>
    public Tensor ToTensor() => tensor(Values, Shape);
}

/// <summary>
/// An ordered list of named tensors (a network's parameters, an adapted head, optimizer moments).
/// Owns its tensors: they live outside any dispose scope until <see cref="Dispose"/>.
/// </summary>
public sealed class NamedTensors : IDisposable
{
    private readonly List<string> _names;
    private readonly List<Tensor> _tensors;
    private bool _disposed;

    public NamedTensors(IEnumerable<(string Name, Tensor Tensor)> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        _names = [];
        _tensors = [];
        foreach (var (name, tensor) in entries)
        {
            if (_names.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentException($"Duplicate tensor name '{name}'.", nameof(entries));
            }

            _names.Add(name);
            // Leaving any caller scope: these tensors live as long as this object.
            _tensors.Add(tensor.DetachFromDisposeScope());
        }
    }

    public int Count => _names.Count;

    public IReadOnlyList<string> Names => _names;

    public IReadOnlyList<Tensor> Tensors
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _tensors;
        }
    }

    public Tensor this[string name]
    {
        get
        {
            var index = _names.IndexOf(name);
            return index >= 0 ? Tensors[index] : throw new KeyNotFoundException($"No tensor named '{name}'.");
        }
    }

    public bool Contains(string name) => _names.Contains(name, StringComparer.Ordinal);

    public long ElementCount => Tensors.Sum(t => t.numel());

    public static NamedTensors FromData(IEnumerable<(string Name, TensorData Data)> entries, bool requiresGrad)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return new NamedTensors(entries.Select(e => (e.Name, e.Data.ToTensor().requires_grad_(requiresGrad))));
    }

    public IReadOnlyList<(string Name, TensorData Data)> ToData() =>
        [.. _names.Zip(Tensors, (n, t) => (n, TensorData.From(t)))];

    /// <summary>Detached deep copy.</summary>
    public NamedTensors Clone(bool requiresGrad)
    {
        using var noGrad = no_grad();
        return new NamedTensors(_names.Zip(Tensors, (n, t) => (n, t.detach().clone().requires_grad_(requiresGrad))));
    }

    /// <summary>Overwrites every tensor's values with another set's, in place, without recording gradients.</summary>
    public void CopyFrom(NamedTensors other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!other.Names.SequenceEqual(Names, StringComparer.Ordinal))
        {
            throw new ArgumentException("Tensor sets differ in names.", nameof(other));
        }

        using var noGrad = no_grad();
        for (var i = 0; i < Count; i++)
        {
            Tensors[i].copy_(other.Tensors[i]);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var t in _tensors)
        {
            t.Dispose();
        }
    }
}
