using System.Text.Json;

namespace ServerlessMeta.Functions.Tests;

/// <summary>One binding of a function in functions.metadata.</summary>
internal sealed record FunctionBinding(string Name, string Type, string Direction, string? AuthLevel, IReadOnlyList<string> Methods, string? Route, string? Schedule);

/// <summary>One function of functions.metadata (what the Functions host indexes).</summary>
internal sealed record FunctionEntry(string Name, string EntryPoint, IReadOnlyList<FunctionBinding> Bindings)
{
    /// <summary>The function's single trigger binding.</summary>
    public FunctionBinding Trigger => Assert.Single(Bindings, b => b.Type.EndsWith("Trigger", StringComparison.Ordinal));
}

/// <summary>Reads the functions.metadata the Functions SDK writes into the app's build output.</summary>
internal static class FunctionsMetadata
{
    private static readonly Lazy<IReadOnlyDictionary<string, FunctionEntry>> Functions = new(Load);

    public static IReadOnlyDictionary<string, FunctionEntry> All => Functions.Value;

    public static FunctionEntry Get(string name)
    {
        Assert.True(All.TryGetValue(name, out var entry), $"functions.metadata has no function '{name}'; it has: {string.Join(", ", All.Keys.Order(StringComparer.Ordinal))}.");
        return entry;
    }

    private static Dictionary<string, FunctionEntry> Load()
    {
        using var document = FunctionsAppLayout.ReadJson(FunctionsAppLayout.OutputFile("functions.metadata"));
        return document.RootElement.EnumerateArray()
            .Select(function => new FunctionEntry(
                function.GetProperty("name").GetString()!,
                function.GetProperty("entryPoint").GetString()!,
                function.GetProperty("bindings").EnumerateArray().Select(ReadBinding).ToList()))
            .ToDictionary(f => f.Name, StringComparer.Ordinal);
    }

    private static FunctionBinding ReadBinding(JsonElement binding) => new(
        binding.GetProperty("name").GetString()!,
        binding.GetProperty("type").GetString()!,
        binding.GetProperty("direction").GetString()!,
        String(binding, "authLevel"),
        binding.TryGetProperty("methods", out var methods) ? methods.EnumerateArray().Select(m => m.GetString()!).ToList() : [],
        String(binding, "route"),
        String(binding, "schedule"));

    private static string? String(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
