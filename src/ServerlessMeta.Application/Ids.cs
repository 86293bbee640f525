using System.Diagnostics.CodeAnalysis;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application;

/// <summary>
/// The rule every id that becomes part of a blob name or table key follows (category ids, pretraining run ids):
/// 3 to 63 characters of lowercase ASCII letters, digits and '-', starting with a letter or digit.
/// </summary>
public static class Ids
{
    /// <summary>
    /// <paramref name="value"/> when it follows the rule; otherwise throws <see cref="ArgumentException"/> whose
    /// <see cref="ArgumentException.ParamName"/> is <paramref name="field"/> (for example "categoryId").
    /// </summary>
    public static string Validate([NotNull] string? value, string field)
    {
        StorageIds.Validate(value, field);
        return value;
    }
}
