using Microsoft.Extensions.DependencyInjection;
using ServerlessMeta.Application;
using ServerlessMeta.Application.Pretraining;
using ServerlessMeta.Orchestration.Local;
using ServerlessMeta.Orchestration.Tests.Infrastructure;

namespace ServerlessMeta.Orchestration.Tests;

/// <summary>Pretraining's embedding phase on real storage: each text is embedded once per encoder, ever.</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class EmbeddingPhaseTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task EveryTextIsEmbeddedOnceAndASecondRunInAnotherProcessReadsEveryVectorFromTheCache()
    {
        await using var environment = await DurableEnvironment.CreateAsync(azurite, categories: 8);
        var plan = PretrainingOrchestrationTests.SmallPlan("embed-first", "protonet", rounds: 1) with { TextEncoder = TextFeaturesOptions.MiniLm, EmbeddingChunkSize = 300 };
        Assert.Equal(TextFeaturesOptions.MiniLm, plan.TextEncoder);
        var first = await EmbedAllAsync(environment.Data, plan);
        var texts = first.Sum(r => r.Texts);
        var encoders = environment.Services.GetRequiredService<TextEncoders>();
        Assert.True(first.Count >= 2, $"Expected several chunks, got {first.Count}.");
        Assert.True(texts > 100, $"Expected the catalogue's texts, got {texts}.");
        Assert.Equal(texts, first.Sum(r => r.Embedded));
        Assert.Equal(texts, encoders.TextsEmbedded);

        // A re-executed chunk of the same run finds its artifact and embeds nothing.
        var again = await environment.Data.EmbedChunkAsync(new EmbedChunkRequest(plan, 0));
        Assert.Equal(0, again.Embedded);
        Assert.Equal(texts, encoders.TextsEmbedded);

        // Another process (fresh services, fresh encoder) and another run on the same data: all from the cache.
        await using var other = LocalPretrainingHost.CreateServices(environment.ConnectionString, environment.ContainerName, environment.TableName, "second-process");
        var otherData = other.GetRequiredService<PretrainingData>();
        var second = await EmbedAllAsync(otherData, plan with { RunId = "embed-second" });
        Assert.Equal(texts, second.Sum(r => r.FromCache));
        Assert.Equal(0, second.Sum(r => r.Embedded));

        // Training data featurizes from the phase's vectors: the encoder network never runs in that process.
        var data = await otherData.GetDataAsync(plan with { RunId = "embed-second" });
        Assert.NotNull(data.Featurizer.Encoder);
        Assert.Equal(384 + data.Featurizer.TextDimension + data.Featurizer.NumericDimension, data.Featurizer.OutputDimension);
        Assert.Equal(0, other.GetRequiredService<TextEncoders>().TextsEmbedded);
    }

    [Fact]
    public async Task HashedRunsHaveNoEmbeddingPhase()
    {
        await using var environment = await DurableEnvironment.CreateAsync(azurite, categories: 6);
        var plan = PretrainingOrchestrationTests.SmallPlan("embed-hashed", "protonet", rounds: 1) with { TextEncoder = TextFeaturesOptions.Hashed };
        var embedding = await environment.Data.PlanEmbeddingAsync(plan);
        Assert.Equal(0, embedding.Chunks);
        await Assert.ThrowsAsync<ArgumentException>(() => environment.Data.EmbedChunkAsync(new EmbedChunkRequest(plan, 0)));
        var data = await environment.Data.GetDataAsync(plan);
        Assert.Null(data.Featurizer.Encoder);
        Assert.Equal(0, environment.Services.GetRequiredService<TextEncoders>().TextsEmbedded);
    }

    private static async Task<List<EmbedChunkResult>> EmbedAllAsync(PretrainingData data, PretrainingPlan plan)
    {
        var embedding = await data.PlanEmbeddingAsync(plan);
        var results = new List<EmbedChunkResult>();
        for (var chunk = 0; chunk < embedding.Chunks; chunk++)
        {
            results.Add(await data.EmbedChunkAsync(new EmbedChunkRequest(plan, chunk)));
        }

        return results;
    }
}
