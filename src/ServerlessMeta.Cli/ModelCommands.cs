using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Serialization;

namespace ServerlessMeta.Cli;

/// <summary><c>smeta model inspect|export</c>: look into a model file and hand its weights to PyTorch.</summary>
internal static class ModelCommands
{
    public static Command Create()
    {
        var model = new Command("model", "Inspect model files (.smeta) and export their weights.");
        model.Subcommands.Add(Inspect());
        model.Subcommands.Add(Export());
        return model;
    }

    private static Command Inspect()
    {
        var file = new Argument<FileInfo>("file") { Description = "A model file (.smeta)." };
        var json = new Option<bool>("--json") { Description = "Print the header as JSON." };
        var command = new Command("inspect", "Verify a model file's checksum and print what it holds.") { file, json };
        command.SetAction(parse => Run(() =>
        {
            var model = Read(parse.GetValue(file)!);
            var header = model.Header;
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(header));
                return 0;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
                {header.Kind} (format version {ModelFile.FormatVersion}, SHA-256 verified)
                  algorithm      {header.Algorithm.ToWireName()}
                  task           {header.Model.TaskKind}, input dimension {header.Model.InputDimension}, hidden [{string.Join(", ", header.Model.HiddenWidths)}]
                  featurizer     {(header.Featurizer is { } f ? f.Describe() : "none (raw vectors)")}
                  labels         {(header.Labels is { } l ? $"{l.Count}: {string.Join(", ", l.Take(10))}{(l.Count > 10 ? ", ..." : string.Empty)}" : "-")}
                  optimizer step {header.OptimizerStep}
                  tensors        {header.Tensors.Count}, {model.Tensors.Sum(t => t.Values.LongLength):N0} values
                """));
            foreach (var (key, value) in header.Metadata)
            {
                Console.WriteLine($"  {key,-14} {value}");
            }

            return 0;
        }));
        return command;
    }

    private static Command Export()
    {
        var file = new Argument<FileInfo>("file") { Description = "A model file (.smeta)." };
        var output = new Argument<FileInfo>("output") { Description = "The safetensors file to write." };
        var command = new Command("export", "Write a model's tensors as safetensors, loadable by plain PyTorch (safetensors.torch.load_file).") { file, output };
        command.SetAction(parse => Run(() =>
        {
            var model = Read(parse.GetValue(file)!);
            var target = parse.GetValue(output)!;
            using (var stream = target.Create())
            {
                model.ExportSafetensors(stream);
            }

            Console.WriteLine($"wrote {target.FullName} ({model.Header.Tensors.Count} tensors)");
            return 0;
        }));
        return command;
    }

    private static ModelFile Read(FileInfo file)
    {
        using var stream = file.OpenRead();
        return ModelFile.ReadFrom(stream);
    }

    private static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // ModelFormatException is an IOException: truncated, corrupted or foreign bytes.
            Console.Error.WriteLine($"smeta: {ex.Message}");
            return 1;
        }
    }
}
