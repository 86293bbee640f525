using System.CommandLine;
using ServerlessMeta.Learning.Algorithms;

namespace ServerlessMeta.Cli.Benchmarks;

/// <summary>Options shared by the benchmark commands.</summary>
internal static class BenchmarkOptions
{
    public static Option<string> Algorithm(string defaultValue, params string[] allowed)
    {
        var option = new Option<string>("--algorithm")
        {
            Description = $"Meta-learning algorithm: {string.Join("|", allowed)}.",
            DefaultValueFactory = _ => defaultValue,
        };
        option.AcceptOnlyFromAmong(allowed);
        return option;
    }

    public static Option<int> Iterations(int defaultValue) => new("--iterations")
    {
        Description = $"Meta-training iterations (default {defaultValue}).",
        DefaultValueFactory = _ => defaultValue,
    };

    public static Option<long> Seed() => new("--seed")
    {
        Description = "Random seed; the same seed on one thread gives identical figures.",
        DefaultValueFactory = _ => 1,
    };

    public static Option<int> Threads() => new("--threads")
    {
        Description = "Tasks computed in parallel (default: the number of cores).",
        DefaultValueFactory = _ => Environment.ProcessorCount,
    };

    public static Option<bool> Json() => new("--json")
    {
        Description = "Print each result as one JSON object on its own line.",
    };

    /// <summary>Where progress lines go: standard error, or nowhere when the results are JSON lines.</summary>
    public static Action<string> Progress(bool json) => json ? _ => { } : Console.Error.WriteLine;

    public static Option<FileInfo?> Save() => new("--save")
    {
        Description = "Write the trained meta-model to this file (.smeta; see 'smeta model inspect').",
    };

    public static void SaveModel(MetaModel model, FileInfo? file, IReadOnlyDictionary<string, string> metadata)
    {
        if (file is null)
        {
            return;
        }

        using var stream = file.Create();
        model.Save(stream, metadata);
        Console.Error.WriteLine($"  saved the meta-model to {file.FullName}");
    }

    public static Option<double?> InnerLearningRate() => new("--inner-lr")
    {
        Description = "Inner-loop learning rate (default: the algorithm's default for the task kind).",
    };

    public static Option<int?> InnerSteps() => new("--inner-steps")
    {
        Description = "Inner-loop steps per task during meta-training (default: the algorithm's default).",
    };

    /// <summary>The algorithm's defaults with any overrides from the command line.</summary>
    public static MetaLearningOptions Hyperparameters(MetaAlgorithm algorithm, Learning.Tasks.TaskKind kind, double? innerLearningRate, int? innerSteps)
    {
        var options = MetaLearningOptions.DefaultsFor(algorithm, kind);
        if (innerLearningRate is { } rate)
        {
            options = options with { InnerLearningRate = rate };
        }

        if (innerSteps is { } steps)
        {
            options = options with { InnerSteps = steps };
        }

        options.Validate();
        return options;
    }

    public static void Positive(this Option<int> option)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() <= 0)
            {
                result.AddError($"{option.Name} must be a positive number.");
            }
        });
    }

    public static MetaAlgorithm ParseAlgorithm(string name) => MetaAlgorithms.Parse(name);
}
