using System.Buffers.Binary;
using System.Text.Json;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;

namespace ServerlessMeta.Cli.Tests;

/// <summary>The smeta model commands, run through the real command tree.</summary>
[Collection(ConsoleCapture.Name)]
public sealed class ModelCommandTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("smeta-cli-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string SaveModel()
    {
        var path = Path.Combine(_directory.FullName, "model.smeta");
        using var model = MetaModel.Create(MetaAlgorithm.Maml, new ModelConfig { TaskKind = TaskKind.Regression, InputDimension = 1, HiddenWidths = [4] }, seed: 1);
        using var stream = File.Create(path);
        model.Save(stream, new Dictionary<string, string> { ["run"] = "test-run" });
        return path;
    }

    [Fact]
    public void InspectVerifiesAndDescribesAModel()
    {
        var (exit, output, _) = ConsoleCapture.Run("model", "inspect", SaveModel());
        Assert.Equal(0, exit);
        Assert.Contains("SHA-256 verified", output, StringComparison.Ordinal);
        Assert.Contains("maml", output, StringComparison.Ordinal);
        Assert.Contains("test-run", output, StringComparison.Ordinal);
    }

    [Fact]
    public void InspectRejectsACorruptedFileWithAClearMessage()
    {
        var path = SaveModel();
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        var (exit, _, error) = ConsoleCapture.Run("model", "inspect", path);
        Assert.Equal(1, exit);
        Assert.Contains("checksum does not match", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ExportWritesSafetensors()
    {
        var output = Path.Combine(_directory.FullName, "model.safetensors");
        var (exit, _, _) = ConsoleCapture.Run("model", "export", SaveModel(), output);
        Assert.Equal(0, exit);
        var bytes = File.ReadAllBytes(output);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength));
        Assert.Equal(new[] { 4, 1 }, header.RootElement.GetProperty("param.layer0.weight").GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void BenchmarksRejectOutOfRangeOptions()
    {
        var (exit, _, error) = ConsoleCapture.Run("bench", "sinusoid", "--shots", "7");
        Assert.NotEqual(0, exit);
        Assert.Contains("Argument '7' not recognized", error, StringComparison.Ordinal);
        (exit, _, error) = ConsoleCapture.Run("bench", "sinusoid", "--iterations", "0");
        Assert.NotEqual(0, exit);
        Assert.Contains("--iterations must be a positive number", error, StringComparison.Ordinal);
        (exit, _, error) = ConsoleCapture.Run("bench", "catalog", "--ways", "51");
        Assert.NotEqual(0, exit);
        Assert.Contains("--ways must be between 2 and 50", error, StringComparison.Ordinal);
        (exit, _, error) = ConsoleCapture.Run("bench", "catalog", "--algorithm", "sgd");
        Assert.NotEqual(0, exit);
        Assert.Contains("sgd", error, StringComparison.Ordinal);
        (exit, _, error) = ConsoleCapture.Run("worker", "--storage", "UseDevelopmentStorage=true", "--max-polling-interval-ms", "10");
        Assert.NotEqual(0, exit);
        Assert.Contains("--max-polling-interval-ms must be between 50 and 30000", error, StringComparison.Ordinal);
    }
}

/// <summary>Runs smeta in-process with Console output captured (one at a time: Console is global).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCapture
{
    public const string Name = "Console capture";

    public static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var (stdout, stderr) = (Console.Out, Console.Error);
        using var output = new StringWriter();
        using var error = new StringWriter();
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            var exit = SmetaCommand.Create().Parse(args).Invoke(new System.CommandLine.InvocationConfiguration { Output = output, Error = error });
            return (exit, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
        }
    }
}
