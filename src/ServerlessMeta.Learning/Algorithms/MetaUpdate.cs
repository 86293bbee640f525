using System.Buffers.Binary;

namespace ServerlessMeta.Learning.Algorithms;

/// <summary>
/// The meta-update of one or more tasks: per meta-parameter, the sum over tasks of each task's
/// meta-gradient (for Reptile the sum of θ − φ, its pseudo-gradient), the number of tasks and the
/// sum of their losses. Plain managed arrays: updates computed in different processes are added
/// with <see cref="Sum"/> and shipped with <see cref="WriteTo"/>/<see cref="ReadFrom"/>.
/// The outer step divides by <see cref="TaskCount"/>.
/// </summary>
public sealed class MetaUpdate
{
    private const uint Magic = 0x55_4D_53_31; // "1SMU" little-endian

    public MetaUpdate(IReadOnlyList<string> names, IReadOnlyList<float[]> sums, int taskCount, double lossSum)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(sums);
        if (names.Count != sums.Count)
        {
            throw new ArgumentException("One sum per parameter name is required.", nameof(sums));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(taskCount);
        Names = names;
        Sums = sums;
        TaskCount = taskCount;
        LossSum = lossSum;
    }

    public IReadOnlyList<string> Names { get; }

    public IReadOnlyList<float[]> Sums { get; }

    public int TaskCount { get; }

    public double LossSum { get; }

    public double MeanLoss => TaskCount == 0 ? double.NaN : LossSum / TaskCount;

    /// <summary>Adds updates in the order given (the order fixes float rounding: keep it stable).</summary>
    public static MetaUpdate Sum(IEnumerable<MetaUpdate> updates)
    {
        ArgumentNullException.ThrowIfNull(updates);
        MetaUpdate? total = null;
        float[][]? sums = null;
        var count = 0;
        double loss = 0;
        foreach (var update in updates)
        {
            if (total is null)
            {
                total = update;
                sums = [.. update.Sums.Select(s => (float[])s.Clone())];
            }
            else
            {
                if (!update.Names.SequenceEqual(total.Names, StringComparer.Ordinal) ||
                    !update.Sums.Select(s => s.Length).SequenceEqual(sums!.Select(s => s.Length)))
                {
                    throw new ArgumentException("Updates of different models cannot be summed.", nameof(updates));
                }

                for (var p = 0; p < sums!.Length; p++)
                {
                    var target = sums[p];
                    var source = update.Sums[p];
                    for (var i = 0; i < target.Length; i++)
                    {
                        target[i] += source[i];
                    }
                }
            }

            count += update.TaskCount;
            loss += update.LossSum;
        }

        return total is null
            ? throw new ArgumentException("Nothing to sum.", nameof(updates))
            : new MetaUpdate(total.Names, sums!, count, loss);
    }

    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(TaskCount);
        writer.Write(LossSum);
        writer.Write(Names.Count);
        for (var p = 0; p < Names.Count; p++)
        {
            writer.Write(Names[p]);
            writer.Write(Sums[p].Length);
            var bytes = new byte[Sums[p].Length * sizeof(float)];
            for (var i = 0; i < Sums[p].Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), Sums[p][i]);
            }

            writer.Write(bytes);
        }
    }

    public static MetaUpdate ReadFrom(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            if (reader.ReadUInt32() != Magic)
            {
                throw new InvalidDataException("Not a ServerlessMeta meta-update.");
            }

            var taskCount = reader.ReadInt32();
            var lossSum = reader.ReadDouble();
            var count = reader.ReadInt32();
            var names = new string[count];
            var sums = new float[count][];
            for (var p = 0; p < count; p++)
            {
                names[p] = reader.ReadString();
                var length = reader.ReadInt32();
                var bytes = reader.ReadBytes(checked(length * sizeof(float)));
                if (bytes.Length != length * sizeof(float))
                {
                    throw new InvalidDataException("The meta-update is truncated.");
                }

                sums[p] = new float[length];
                for (var i = 0; i < length; i++)
                {
                    sums[p][i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
                }
            }

            return new MetaUpdate(names, sums, taskCount, lossSum);
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The meta-update is truncated.", ex);
        }
    }
}
