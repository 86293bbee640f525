using ServerlessMeta.Learning;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application;

/// <summary>What kind of failure an application service reported.</summary>
public enum ServiceFailureKind
{
    /// <summary>The request is invalid; <see cref="ServiceFailure.Field"/> names the offending field (null: the body as a whole).</summary>
    Invalid,

    /// <summary>No such category.</summary>
    CategoryNotFound,

    /// <summary>No such model version (or the category has none yet).</summary>
    VersionNotFound,

    /// <summary>The category to create exists already.</summary>
    AlreadyExists,

    /// <summary>A concurrent writer changed the data first.</summary>
    Conflict,

    /// <summary>No stored model verifies against its SHA-256 (missing or corrupt blob).</summary>
    Integrity,

    /// <summary>Storage did not answer in time or said it cannot answer now: retrying later may work.</summary>
    StorageUnavailable,
}

/// <summary>
/// A failure of an application service in its own terms, so a caller (the HTTP layer) maps it to an answer
/// without knowing the storage or learning exceptions behind it.
/// </summary>
/// <param name="Kind">What went wrong.</param>
/// <param name="Message">The message to show: for <see cref="ServiceFailureKind.Invalid"/> without .NET's "(Parameter ...)" suffix.</param>
/// <param name="Field">The request field at fault, when one is.</param>
public sealed record ServiceFailure(ServiceFailureKind Kind, string Message, string? Field)
{
    /// <summary>
    /// The failure <paramref name="exception"/> means, or null for an unexpected one (a bug). A cancellation the
    /// caller (<paramref name="callerToken"/>) did not ask for counts as storage not answering in time.
    /// </summary>
    public static ServiceFailure? Classify(Exception exception, CancellationToken callerToken = default) => exception switch
    {
        ArgumentException e => new(ServiceFailureKind.Invalid, FieldErrors.MessageOf(e), e.ParamName),
        CategoryNotFoundException e => new(ServiceFailureKind.CategoryNotFound, e.Message, "id"),
        ModelVersionNotFoundException e => new(ServiceFailureKind.VersionNotFound, e.Message, "version"),
        CategoryAlreadyExistsException e => new(ServiceFailureKind.AlreadyExists, e.Message, "categoryId"),
        ConflictException e => new(ServiceFailureKind.Conflict, e.Message, null),
        ModelIntegrityException e => new(ServiceFailureKind.Integrity, e.Message, null),
        _ when StorageFaults.IsUnavailable(exception, callerToken) => new(ServiceFailureKind.StorageUnavailable, StorageFaults.Describe(exception), null),
        _ => null,
    };

    /// <summary>
    /// What went wrong with storage, in words that carry no service response text (for logs and anonymous
    /// answers); <paramref name="waited"/> is the deadline that passed, if one did.
    /// </summary>
    public static string DescribeStorageFault(Exception exception, TimeSpan? waited = null) => StorageFaults.Describe(exception, waited);
}
