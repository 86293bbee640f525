using ServerlessMeta.Learning.Data;

namespace ServerlessMeta.Application.Categories;

/// <summary>
/// How labels are read from a request: leading and trailing white space is dropped ("red " is "red", see
/// <see cref="RequestValidator"/>), and a label
/// that differs from another only by case ("Red" beside "red", in the request or already in the category) is refused,
/// since it is almost always a typo that would split one class in two. A request that means them as different labels
/// says so with <c>caseSensitiveLabels: true</c>.
/// </summary>
internal static class LabelSpelling
{
    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the field when, unless <paramref name="caseSensitive"/>, a declared
    /// label or an example's label differs only by case from another one or from one of <paramref name="existing"/>.
    /// </summary>
    public static void CheckCase(IEnumerable<string> existing, IReadOnlyList<string>? declared, IReadOnlyList<LabelledItem> examples, bool caseSensitive, string field)
    {
        if (caseSensitive)
        {
            return;
        }

        var known = new Dictionary<string, string>(StringComparer.Ordinal);
        var folded = new Dictionary<string, (string Spelling, string Where)>(StringComparer.OrdinalIgnoreCase);
        foreach (var label in existing)
        {
            known.TryAdd(label, label);
            folded.TryAdd(label, (label, "the category's label"));
        }

        void Check(string label, string where)
        {
            if (known.ContainsKey(label))
            {
                return;
            }

            if (folded.TryGetValue(label, out var other))
            {
                throw new ArgumentException(
                    $"{where}: \"{label}\" differs only by case from {other.Where} \"{other.Spelling}\". Send one spelling, or set caseSensitiveLabels to true to keep them as different labels.",
                    where);
            }

            known.Add(label, label);
            folded.Add(label, (label, where));
        }

        for (var i = 0; i < declared?.Count; i++)
        {
            Check(declared[i], $"labels[{i}]");
        }

        for (var i = 0; i < examples.Count; i++)
        {
            if (examples[i]?.Label is { Length: > 0 } label)
            {
                Check(label, $"{field}[{i}].label");
            }
        }
    }
}
