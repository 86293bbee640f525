namespace ServerlessMeta.Application;

/// <summary>Process-wide TorchSharp settings, applied once before the first tensor.</summary>
internal static class TorchRuntime
{
    private static readonly Lazy<bool> Configured = new(() =>
    {
        // One intra-op thread: small models gain nothing from more, requests run in parallel instead,
        // and results stay bit-reproducible.
        TorchSharp.torch.set_num_threads(1);
        return true;
    });

    public static void Configure() => _ = Configured.Value;
}
