using TorchSharp;
using static TorchSharp.torch;

namespace ServerlessMeta.Learning.Models;

/// <summary>
/// Tensor arithmetic whose scalar operands stay alive until the native call returns.
/// TorchSharp turns numbers (and the implicit alpha of <c>a + b</c>, <c>a - b</c>) into temporary
/// native <see cref="Scalar"/> objects and passes only their handles to libtorch; nothing keeps the
/// managed object reachable, so a garbage collection during the call can finalise it and free the
/// scalar mid-operation. On this machine that surfaced, once in a long training run, as
/// "Expected false to be true ... toFloat" from inside <c>add</c> (see dotnet/TorchSharp#1496). Hot
/// paths use these helpers instead of the operators: the constants are static, the others are
/// disposed only after the call.
/// </summary>
internal static class TensorOps
{
    private static readonly Scalar One = 1.ToScalar();
    private static readonly Scalar Two = 2.ToScalar();

    public static Tensor Add(Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a − b (TorchSharp's tensor subtraction takes no scalar: listed for symmetry with <see cref="Add"/>).</summary>
    public static Tensor Subtract(Tensor a, Tensor b) => a.sub(b);

    public static Tensor Double(Tensor a) => a.mul(Two);

    public static Tensor Scale(Tensor a, double factor)
    {
        using var scalar = factor.ToScalar();
        return a.mul(scalar);
    }

    public static Tensor Divide(Tensor a, double divisor)
    {
        using var scalar = divisor.ToScalar();
        return a.div(scalar);
    }

    public static Tensor ClampMin(Tensor a, double minimum)
    {
        using var scalar = minimum.ToScalar();
        return a.clamp_min(scalar);
    }
}
