using static TorchSharp.torch;

namespace ServerlessMeta.Cli.Benchmarks;

internal static class TorchSetup
{
    /// <summary>
    /// One intra-op thread: the models are small, so parallelism comes from computing tasks
    /// concurrently (--threads), and a single intra-op thread keeps results bit-reproducible.
    /// </summary>
    public static void ForTaskParallelism()
    {
        set_num_threads(1);
        set_num_interop_threads(1);
    }
}
