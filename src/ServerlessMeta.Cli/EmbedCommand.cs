using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ServerlessMeta.Learning.Featurization.Text;

namespace ServerlessMeta.Cli;

/// <summary>
/// <c>smeta embed TEXT...</c>: the sentence embedding the service computes for each text (all-MiniLM-L6-v2,
/// offline), with its WordPiece ids: to see what the models see, or to compare with another implementation.
/// </summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var texts = new Argument<string[]>("text") { Description = "Texts to embed.", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "One JSON object per text: text, encoder, sha256, dimension, ids, vector." };
        var command = new Command("embed", "Print the sentence embedding (all-MiniLM-L6-v2, run offline) and the token ids of each text.") { texts, json };
        command.SetAction(parse =>
        {
            using var encoder = MiniLmTextEncoder.Load(new TextEncoderOptions { Threads = 1 });
            foreach (var text in parse.GetValue(texts)!)
            {
                var vector = encoder.Embed(text);
                var ids = encoder.Tokenizer.Encode(text);
                if (parse.GetValue(json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                    {
                        ["text"] = text,
                        ["encoder"] = encoder.Info.Name,
                        ["sha256"] = encoder.Info.ModelSha256,
                        ["dimension"] = encoder.Info.Dimension,
                        ["ids"] = ids,
                        ["vector"] = vector,
                    }));
                }
                else
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{text}\n  {ids.Length} ids: {string.Join(' ', ids.Take(24))}{(ids.Length > 24 ? " ..." : string.Empty)}\n  {encoder.Info.Name} [{string.Join(", ", vector.Take(6).Select(v => v.ToString("F5", CultureInfo.InvariantCulture)))}, ...] ({vector.Length} values, unit length)"));
                }
            }

            return 0;
        });
        return command;
    }
}
