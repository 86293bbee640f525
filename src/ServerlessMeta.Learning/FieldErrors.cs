namespace ServerlessMeta.Learning;

/// <summary>
/// Validation errors name the offending JSON field in <see cref="ArgumentException.ParamName"/>; these
/// helpers keep the message free of .NET's " (Parameter '...')" suffix and re-point it at another field.
/// </summary>
public static class FieldErrors
{
    /// <summary>The message without the " (Parameter '...')" suffix .NET appends.</summary>
    public static string MessageOf(ArgumentException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.ParamName is null
            ? exception.Message
            : exception.Message.Replace($" (Parameter '{exception.ParamName}')", string.Empty, StringComparison.Ordinal);
    }

    /// <summary>The same error reported on <paramref name="field"/> (the original kept as inner exception).</summary>
    public static ArgumentException Renamed(ArgumentException exception, string field) => new(MessageOf(exception), field, exception);
}
