using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace ServerlessMeta.Storage;

/// <summary>
/// The rule every id that becomes part of a blob name or table key follows (category ids, run ids):
/// 3 to 63 characters of lowercase ASCII letters, digits and '-', starting with a letter or digit.
/// Blob names are built only from ids that passed <see cref="Validate"/>, so no request can reach a blob
/// outside the prefix it means (no "..", no "/", no encoded tricks).
/// </summary>
public static class StorageIds
{
    public const int MinLength = 3;

    public const int MaxLength = 63;

    /// <summary>Whether <paramref name="id"/> follows the id rule.</summary>
    public static bool IsValid([NotNullWhen(true)] string? id)
    {
        if (id is null || id.Length < MinLength || id.Length > MaxLength || id[0] == '-')
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(c is >= 'a' and <= 'z' || c is >= '0' and <= '9' || c == '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> whose <see cref="ArgumentException.ParamName"/> is
    /// <paramref name="field"/> (for example "categoryId") when <paramref name="id"/> breaks the rule.
    /// </summary>
    public static void Validate([NotNull] string? id, string field)
    {
        if (!IsValid(id))
        {
            throw new ArgumentException(
                $"{field} must be {MinLength} to {MaxLength} characters of lowercase letters, digits and '-', starting with a letter or digit; got {Describe(id)}.",
                field);
        }
    }

    /// <summary>A short, printable, quoted rendering of untrusted input for error messages.</summary>
    internal static string Describe(string? value)
    {
        if (value is null)
        {
            return "null";
        }

        const int Shown = 70;
        var builder = new StringBuilder("'");
        foreach (var c in value.Length > Shown ? value[..Shown] : value)
        {
            if (c is >= ' ' and <= '~' && c != '\'')
            {
                builder.Append(c);
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
        }

        builder.Append('\'');
        if (value.Length > Shown)
        {
            builder.Append(CultureInfo.InvariantCulture, $"... ({value.Length} characters)");
        }

        return builder.ToString();
    }
}
