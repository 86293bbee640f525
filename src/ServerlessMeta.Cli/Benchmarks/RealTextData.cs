using System.Text;
using System.Text.Json;

namespace ServerlessMeta.Cli.Benchmarks;

/// <summary>One labelled text of a real dataset.</summary>
internal sealed record RealTextItem(string Category, string Label, string Text);

/// <summary>
/// Real, public, labelled text collections that install offline and that this project did not make:
/// <list type="bullet">
/// <item><c>emojibase</c>: the npm package emojibase-data (MIT; Unicode CLDR annotations, pinned in
/// package.json): each emoji's name and tags; category = group (smileys &amp; emotion, food &amp; drink,
/// ...), label = subgroup (face-smiling, fruit, ...). Items are short, like product titles.</item>
/// <item><c>fortunes</c>: the Debian package fortunes (apt-get install fortunes; public domain and
/// permissive quotations, one file per topic): label = topic; a category is a fixed group of topics
/// (topics in ordinal order, consecutive groups of five), items are the first 120 quotations of 20 to 400
/// characters of each topic.</item>
/// </list>
/// </summary>
internal static class RealTextData
{
    public static readonly string[] Names = ["emojibase", "fortunes"];

    public const string FortunesDirectory = "/usr/share/games/fortunes";

    public const int MaxQuotesPerTopic = 120;

    public static IReadOnlyList<RealTextItem> Load(string dataset, string? path)
    {
        return dataset switch
        {
            "emojibase" => LoadEmojibase(path ?? FindEmojibase()),
            "fortunes" => LoadFortunes(path ?? FortunesDirectory),
            _ => throw new ArgumentException($"Unknown dataset '{dataset}'; use one of {string.Join(", ", Names)}.", nameof(dataset)),
        };
    }

    /// <summary>node_modules/emojibase-data/en of the repository (found from the working directory or the application's folder upwards).</summary>
    public static string FindEmojibase()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, "node_modules", "emojibase-data", "en");
                if (File.Exists(Path.Combine(candidate, "data.json")))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException("emojibase-data is not installed: run 'npm ci' in the repository (package.json pins it), or pass --data DIR with data.json and messages.json.");
    }

    public static IReadOnlyList<RealTextItem> LoadEmojibase(string directory)
    {
        using var data = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory, "data.json")));
        using var messages = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(directory, "messages.json")));
        // emojibase-data 17.0.0 gives two subgroups one number (46: food-marine and food-sweet), so an
        // emoji's number cannot tell them apart: such subgroups form one label named after both.
        static Dictionary<int, string> Keys(JsonElement list) =>
            list.EnumerateArray()
                .GroupBy(e => e.GetProperty("order").GetInt32())
                .ToDictionary(g => g.Key, g => string.Join("+", g.Select(e => e.GetProperty("key").GetString())));
        var groups = Keys(messages.RootElement.GetProperty("groups"));
        var subgroups = Keys(messages.RootElement.GetProperty("subgroups"));
        var items = new List<RealTextItem>();
        foreach (var emoji in data.RootElement.EnumerateArray())
        {
            if (!emoji.TryGetProperty("group", out var group) || !emoji.TryGetProperty("subgroup", out var subgroup))
            {
                continue;
            }

            var text = new StringBuilder(emoji.GetProperty("label").GetString());
            if (emoji.TryGetProperty("tags", out var tags))
            {
                text.Append(": ").AppendJoin(", ", tags.EnumerateArray().Select(t => t.GetString()));
            }

            items.Add(new RealTextItem(groups[group.GetInt32()], subgroups[subgroup.GetInt32()], text.ToString()));
        }

        return items;
    }

    public static IReadOnlyList<RealTextItem> LoadFortunes(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{directory} does not exist: install the Debian package with 'apt-get install fortunes', or pass --data DIR.");
        }

        // Topic files are the ones without an extension (the .dat/.u8 files are indexes and links).
        var topics = Directory.GetFiles(directory)
            .Where(f => !Path.HasExtension(f) && !File.GetAttributes(f).HasFlag(FileAttributes.ReparsePoint))
            .Select(Path.GetFileName)
            .Order(StringComparer.Ordinal)
            .ToList();
        var items = new List<RealTextItem>();
        for (var t = 0; t < topics.Count; t++)
        {
            var category = $"topics-{(t / 5) + 1:D2}";
            var quotes = File.ReadAllText(Path.Combine(directory, topics[t]!), Encoding.UTF8).Split("\n%\n");
            var kept = 0;
            foreach (var raw in quotes)
            {
                var text = string.Join(' ', raw.Split((char[])['\n', '\t', ' '], StringSplitOptions.RemoveEmptyEntries));
                if (text.Length is >= 20 and <= 400 && kept++ < MaxQuotesPerTopic)
                {
                    items.Add(new RealTextItem(category, topics[t]!, text));
                }
            }
        }

        return items;
    }
}
