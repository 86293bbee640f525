namespace ServerlessMeta.Deployment.Tests;

/// <summary>The test classes that read the one publish folder <see cref="PublishFixture"/> makes.</summary>
[CollectionDefinition(Name)]
public sealed class PublishGroup : ICollectionFixture<PublishFixture>
{
    public const string Name = "Functions app publish";
}
