using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Featurization;
using ServerlessMeta.Learning.Models;

namespace ServerlessMeta.Learning.Serialization;

/// <summary>What a model file holds.</summary>
public enum ModelFileKind
{
    /// <summary>A meta-model checkpoint: meta-parameters and outer optimizer state.</summary>
    MetaModel,

    /// <summary>A model adapted to one category: weights, head and label list.</summary>
    AdaptedModel,
}

/// <summary>One tensor's entry in the header.</summary>
public sealed record TensorEntry(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("shape")] long[] Shape);

/// <summary>The self-describing JSON header of a model file.</summary>
public sealed record ModelHeader
{
    [JsonPropertyName("kind")]
    [JsonConverter(typeof(JsonStringEnumConverter<ModelFileKind>))]
    public required ModelFileKind Kind { get; init; }

    [JsonPropertyName("algorithm")]
    public required MetaAlgorithm Algorithm { get; init; }

    [JsonPropertyName("model")]
    public required ModelConfig Model { get; init; }

    [JsonPropertyName("options")]
    public required MetaLearningOptions Options { get; init; }

    [JsonPropertyName("featurizer")]
    public FeaturizerOptions? Featurizer { get; init; }

    /// <summary>Label names of an adapted classifier, in class-index order.</summary>
    [JsonPropertyName("labels")]
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>Outer optimizer steps applied (meta-models).</summary>
    [JsonPropertyName("optimizerStep")]
    public long OptimizerStep { get; init; }

    /// <summary>Free-form provenance (run id, metrics, ...), all strings.</summary>
    [JsonPropertyName("metadata")]
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    [JsonPropertyName("tensors")]
    public required IReadOnlyList<TensorEntry> Tensors { get; init; }
}

/// <summary>
/// The model format: one binary blob holding a JSON header and float32 tensors, sealed by SHA-256.
/// <code>
/// offset 0   8 bytes   magic "SMETAMDL"
///        8   2 bytes   format version (little-endian), currently 1
///       10   4 bytes   header length H (little-endian)
///       14   H bytes   header, UTF-8 JSON (<see cref="ModelHeader"/>)
///   14 + H   ...       each tensor of header.tensors in order: float32 little-endian, row-major
///   end-32  32 bytes   SHA-256 of every preceding byte
/// </code>
/// Reading verifies magic, version, checksum and every size before building anything, and throws
/// <see cref="ModelFormatException"/> for truncated, corrupted or foreign bytes.
/// </summary>
public sealed class ModelFile
{
    public const ushort FormatVersion = 1;

    /// <summary>Largest file accepted (guards against absurd allocations from corrupted sizes).</summary>
    public const long MaxFileBytes = 1L << 31;

    private static readonly byte[] Magic = "SMETAMDL"u8.ToArray();
    private const int PreambleLength = 14;
    private const int ChecksumLength = 32;

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public ModelFile(ModelHeader header, IReadOnlyList<TensorData> tensors)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(tensors);
        if (header.Tensors.Count != tensors.Count)
        {
            throw new ArgumentException("The header must list every tensor.", nameof(tensors));
        }

        for (var i = 0; i < tensors.Count; i++)
        {
            if (!header.Tensors[i].Shape.SequenceEqual(tensors[i].Shape) || ElementCount(tensors[i].Shape) != tensors[i].Values.Length)
            {
                throw new ArgumentException($"Tensor '{header.Tensors[i].Name}' does not match its header entry.", nameof(tensors));
            }
        }

        Header = header;
        Tensors = tensors;
    }

    public ModelHeader Header { get; }

    public IReadOnlyList<TensorData> Tensors { get; }

    public TensorData this[string name]
    {
        get
        {
            for (var i = 0; i < Header.Tensors.Count; i++)
            {
                if (Header.Tensors[i].Name == name)
                {
                    return Tensors[i];
                }
            }

            throw new ModelFormatException($"The model file has no tensor '{name}'.");
        }
    }

    /// <summary>Tensors whose names start with <paramref name="prefix"/>, with the prefix removed.</summary>
    public IReadOnlyList<(string Name, TensorData Data)> Group(string prefix) =>
        [.. Header.Tensors.Select((e, i) => (e.Name, Tensors[i]))
            .Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal))
            .Select(t => (t.Name[prefix.Length..], t.Item2))];

    public byte[] ToBytes()
    {
        using var buffer = new MemoryStream();
        WriteTo(buffer);
        return buffer.ToArray();
    }

    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = JsonSerializer.SerializeToUtf8Bytes(Header, JsonOptions);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> preamble = stackalloc byte[PreambleLength];
        Magic.CopyTo(preamble);
        BinaryPrimitives.WriteUInt16LittleEndian(preamble[8..], FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(preamble[10..], header.Length);
        Write(stream, hash, preamble);
        Write(stream, hash, header);
        foreach (var tensor in Tensors)
        {
            var bytes = new byte[tensor.Values.Length * sizeof(float)];
            for (var i = 0; i < tensor.Values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), tensor.Values[i]);
            }

            Write(stream, hash, bytes);
        }

        stream.Write(hash.GetHashAndReset());
    }

    public static ModelFile ReadFrom(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] bytes;
        using (var buffer = new MemoryStream())
        {
            var chunk = new byte[81_920];
            int read;
            while ((read = stream.Read(chunk)) > 0)
            {
                if (buffer.Length + read > MaxFileBytes)
                {
                    throw new ModelFormatException($"The model file is larger than {MaxFileBytes} bytes.");
                }

                buffer.Write(chunk, 0, read);
            }

            bytes = buffer.ToArray();
        }

        return FromBytes(bytes);
    }

    public static ModelFile FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < Magic.Length || !bytes[..Magic.Length].SequenceEqual(Magic))
        {
            throw new ModelFormatException("These bytes are not a ServerlessMeta model file (wrong magic number).");
        }

        if (bytes.Length < PreambleLength + ChecksumLength)
        {
            throw new ModelFormatException($"The model file is truncated ({bytes.Length} bytes).");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]);
        if (version != FormatVersion)
        {
            throw new ModelFormatException($"Model format version {version} is not supported (this build reads version {FormatVersion}).");
        }

        var body = bytes[..^ChecksumLength];
        var expected = bytes[^ChecksumLength..];
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(expected))
        {
            throw new ModelFormatException("The model file's SHA-256 checksum does not match: it is truncated or corrupted.");
        }

        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes[10..]);
        if (headerLength <= 0 || headerLength > body.Length - PreambleLength)
        {
            throw new ModelFormatException("The model file's header length is invalid.");
        }

        ModelHeader header;
        try
        {
            header = JsonSerializer.Deserialize<ModelHeader>(body.Slice(PreambleLength, headerLength), JsonOptions)
                ?? throw new ModelFormatException("The model file's header is empty.");
        }
        catch (JsonException ex)
        {
            throw new ModelFormatException($"The model file's header is not valid: {ex.Message}", ex);
        }

        var offset = PreambleLength + headerLength;
        var tensors = new List<TensorData>(header.Tensors.Count);
        foreach (var entry in header.Tensors)
        {
            if (entry.Shape is null || entry.Shape.Any(d => d < 0))
            {
                throw new ModelFormatException($"Tensor '{entry.Name}' has an invalid shape.");
            }

            var count = ElementCount(entry.Shape);
            var length = count * sizeof(float);
            if (count > int.MaxValue / sizeof(float) || offset + length > body.Length)
            {
                throw new ModelFormatException($"Tensor '{entry.Name}' runs past the end of the model file.");
            }

            var values = new float[count];
            for (var i = 0; i < count; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(body[(offset + (int)(i * sizeof(float)))..]);
            }

            offset += (int)length;
            tensors.Add(new TensorData(entry.Shape, values));
        }

        if (offset != body.Length)
        {
            throw new ModelFormatException($"The model file has {body.Length - offset} unexpected bytes after its tensors.");
        }

        return new ModelFile(header, tensors);
    }

    /// <summary>
    /// Writes the tensors as a safetensors file (https://github.com/huggingface/safetensors format),
    /// loadable by plain PyTorch with <c>safetensors.torch.load_file</c>; the header goes into its
    /// string metadata under "serverlessmeta".
    /// </summary>
    public void ExportSafetensors(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("__metadata__");
            writer.WriteString("serverlessmeta", JsonSerializer.Serialize(Header, JsonOptions));
            writer.WriteString("format", "pt");
            writer.WriteEndObject();
            long position = 0;
            for (var i = 0; i < Tensors.Count; i++)
            {
                var size = Tensors[i].Values.LongLength * sizeof(float);
                writer.WriteStartObject(Header.Tensors[i].Name);
                writer.WriteString("dtype", "F32");
                writer.WriteStartArray("shape");
                foreach (var d in Tensors[i].Shape)
                {
                    writer.WriteNumberValue(d);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(position);
                writer.WriteNumberValue(position + size);
                writer.WriteEndArray();
                writer.WriteEndObject();
                position += size;
            }

            writer.WriteEndObject();
        }

        // The header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
        var padding = (int)((8 - (json.Length % 8)) % 8);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)(json.Length + padding));
        stream.Write(length);
        stream.Write(json.GetBuffer().AsSpan(0, (int)json.Length));
        for (var i = 0; i < padding; i++)
        {
            stream.WriteByte((byte)' ');
        }

        foreach (var tensor in Tensors)
        {
            var bytes = new byte[tensor.Values.Length * sizeof(float)];
            Buffer.BlockCopy(tensor.Values, 0, bytes, 0, bytes.Length);
            if (!BitConverter.IsLittleEndian)
            {
                for (var i = 0; i < tensor.Values.Length; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), tensor.Values[i]);
                }
            }

            stream.Write(bytes);
        }
    }

    private static long ElementCount(long[] shape) => shape.Aggregate(1L, (a, b) => checked(a * b));

    private static void Write(Stream stream, IncrementalHash hash, ReadOnlySpan<byte> bytes)
    {
        hash.AppendData(bytes);
        stream.Write(bytes);
    }
}

/// <summary>Bytes that are not a valid model file: truncated, corrupted, foreign or of an unknown version.</summary>
public sealed class ModelFormatException : IOException
{
    public ModelFormatException()
    {
    }

    public ModelFormatException(string message)
        : base(message)
    {
    }

    public ModelFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
