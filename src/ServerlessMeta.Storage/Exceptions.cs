namespace ServerlessMeta.Storage;

/// <summary>A category, model version or meta-model that does not exist (HTTP 404).</summary>
public class NotFoundException : Exception
{
    public NotFoundException()
    {
    }

    public NotFoundException(string message)
        : base(message)
    {
    }

    public NotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The category does not exist.</summary>
public sealed class CategoryNotFoundException : NotFoundException
{
    public CategoryNotFoundException()
    {
    }

    public CategoryNotFoundException(string categoryId)
        : base($"Category '{categoryId}' does not exist.")
    {
        CategoryId = categoryId;
    }

    public CategoryNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string? CategoryId { get; }
}

/// <summary>The category or meta-model version does not exist (or was abandoned by orphan cleanup).</summary>
public sealed class ModelVersionNotFoundException : NotFoundException
{
    public ModelVersionNotFoundException()
    {
    }

    public ModelVersionNotFoundException(string message)
        : base(message)
    {
    }

    public ModelVersionNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The request conflicts with the stored state (HTTP 409).</summary>
public class ConflictException : Exception
{
    public ConflictException()
    {
    }

    public ConflictException(string message)
        : base(message)
    {
    }

    public ConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A category with this id already exists.</summary>
public sealed class CategoryAlreadyExistsException : ConflictException
{
    public CategoryAlreadyExistsException()
    {
    }

    public CategoryAlreadyExistsException(string categoryId)
        : base($"Category '{categoryId}' already exists.")
    {
        CategoryId = categoryId;
    }

    public CategoryAlreadyExistsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string? CategoryId { get; }
}

/// <summary>
/// A stored model failed verification: its blob is missing, or its size or SHA-256 differs from what
/// its metadata row recorded when it was written.
/// </summary>
public sealed class ModelIntegrityException : Exception
{
    public ModelIntegrityException()
    {
    }

    public ModelIntegrityException(string message)
        : base(message)
    {
    }

    public ModelIntegrityException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The blob that failed verification.</summary>
    public string? BlobName { get; init; }
}

/// <summary>
/// The storage setting is missing, malformed, or names storage that refused or did not answer; the message is one line
/// that names the setting and what is wrong.
/// </summary>
public sealed class StorageConfigurationException : InvalidOperationException
{
    public StorageConfigurationException()
    {
    }

    public StorageConfigurationException(string message)
        : base(message)
    {
    }

    public StorageConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
