using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ServerlessMeta.Learning.Evaluation;
using ServerlessMeta.Learning.Featurization.Text;

namespace ServerlessMeta.Cli.Benchmarks;

/// <summary>
/// <c>smeta bench encoder</c>: throughput of the all-MiniLM-L6-v2 encoder on this machine, for short texts
/// (emojibase-data annotations of 10 to 20 tokens, about 15, like product titles) and 60-token texts (three
/// or four annotations joined, 55 to 65 tokens), every text distinct so no cache helps; plus the cold start (load) and one-text latency.
/// </summary>
internal static class EncoderBenchmark
{
    public const double ShortTarget = 400;
    public const double LongTarget = 100;

    public static Command CreateCommand()
    {
        var threads = new Option<int>("--threads") { Description = "Intra-op threads of the ONNX session (default: the number of cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        threads.Positive();
        var batch = new Option<int>("--batch-size") { Description = "Texts per ONNX call (texts are sorted by length first).", DefaultValueFactory = _ => new TextEncoderOptions().BatchSize };
        batch.Positive();
        var count = new Option<int>("--texts") { Description = "Texts per measurement.", DefaultValueFactory = _ => 1_000 };
        count.Positive();
        var json = BenchmarkOptions.Json();
        var command = new Command("encoder", "Texts per second of the sentence encoder for short and 60-token texts, its cold start and one-text latency.") { threads, batch, count, json };
        command.SetAction(parse => Run(parse.GetValue(threads), parse.GetValue(batch), parse.GetValue(count), parse.GetValue(json)));
        return command;
    }

    public static int Run(int threads, int batchSize, int count, bool json)
    {
        var items = RealTextData.LoadEmojibase(RealTextData.FindEmojibase()).Select(i => i.Text).Distinct(StringComparer.Ordinal).ToList();
        var clock = Stopwatch.StartNew();
        using var encoder = MiniLmTextEncoder.Load(new TextEncoderOptions { Threads = threads, BatchSize = batchSize });
        var loadMs = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        encoder.Embed("warm up");
        var firstMs = clock.Elapsed.TotalMilliseconds;

        // Short: annotations of 10 to 20 tokens (about 15, a product title); 60-token: joined annotations of 55 to 65 tokens.
        var titleLike = items.Where(t => encoder.Tokenizer.Encode(t).Length is >= 10 and <= 20).ToList();
        var shortTexts = Distinct(titleLike, count, 1);
        var longTexts = Distinct(items, count * 4, 3).Concat(Distinct(items, count * 4, 4))
            .Where(t => encoder.Tokenizer.Encode(t).Length is >= 55 and <= 65).Distinct(StringComparer.Ordinal).Take(count).ToList();
        var results = new List<Dictionary<string, object>>
        {
            Measure(encoder, "short", shortTexts, threads, batchSize, ShortTarget),
            Measure(encoder, "60-token", longTexts, threads, batchSize, LongTarget),
        };

        var latencies = new List<double>();
        foreach (var text in shortTexts.Take(200))
        {
            clock.Restart();
            encoder.Embed(text + " once");
            latencies.Add(clock.Elapsed.TotalMilliseconds);
        }

        latencies.Sort();
        var summary = new Dictionary<string, object>
        {
            ["benchmark"] = "encoder",
            ["measure"] = "cold-start",
            ["load_ms"] = Math.Round(loadMs, 1),
            ["first_embedding_ms"] = Math.Round(firstMs, 1),
            ["one_short_text_p50_ms"] = Math.Round(latencies[latencies.Count / 2], 2),
            ["one_short_text_p99_ms"] = Math.Round(latencies[(int)(latencies.Count * 0.99)], 2),
            ["rss_mb"] = Math.Round(Environment.WorkingSet / 1048576.0, 0),
            ["threads"] = threads,
        };
        results.Add(summary);
        foreach (var result in results)
        {
            Console.WriteLine(json
                ? JsonSerializer.Serialize(result)
                : string.Join("  ", result.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}={p.Value}"))));
        }

        return 0;
    }

    /// <summary><paramref name="count"/> distinct texts, each <paramref name="join"/> annotations joined (a suffix keeps repeats distinct).</summary>
    private static List<string> Distinct(List<string> items, int count, int join) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var text = string.Join(". ", Enumerable.Range(0, join).Select(j => items[((i * join) + j) % items.Count]));
            return i * join >= items.Count ? $"{text} (variant {i})" : text;
        })];

    private static Dictionary<string, object> Measure(MiniLmTextEncoder encoder, string kind, List<string> texts, int threads, int batchSize, double target)
    {
        var tokens = texts.Average(t => encoder.Tokenizer.Encode(t).Length);
        var destination = new float[texts.Count * encoder.Info.Dimension];
        var seconds = new List<double>();
        for (var run = 0; run < 3; run++)
        {
            var clock = Stopwatch.StartNew();
            encoder.Embed(texts, destination);
            seconds.Add(clock.Elapsed.TotalSeconds);
        }

        var rate = texts.Count / MeanEstimate.Median(seconds);
        return new Dictionary<string, object>
        {
            ["benchmark"] = "encoder",
            ["measure"] = kind,
            ["texts"] = texts.Count,
            ["mean_tokens"] = Math.Round(tokens, 1),
            ["texts_per_second"] = Math.Round(rate, 1),
            ["target"] = target,
            ["target_met"] = rate >= target,
            ["threads"] = threads,
            ["batch_size"] = batchSize,
        };
    }
}
