using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ServerlessMeta.Application.IntegrationTests;

/// <summary>How many shards a run gets when it names none: SMETA_PRETRAINING__INSTANCES, default the cores the host sees (issue 12).</summary>
public sealed class PretrainingOptionsTests
{
    [Fact]
    public void ShardsFollowTheInstancesSettingUpToTheMetaBatch()
    {
        Assert.Equal(Math.Min(Environment.ProcessorCount, 32), new PretrainingServiceOptions().DefaultShards(32));
        Assert.Equal(8, new PretrainingServiceOptions { Instances = 8 }.DefaultShards(32));
        Assert.Equal(4, new PretrainingServiceOptions { Instances = 100 }.DefaultShards(4));
        Assert.Equal(1, new PretrainingServiceOptions { Instances = 1 }.DefaultShards(32));
    }

    [Fact]
    public void TheSettingIsReadFromTheHostsConfigurationAndChecked()
    {
        static PretrainingServiceOptions Read(string? value)
        {
            var services = new ServiceCollection();
            services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection([new("SMETA_PRETRAINING:Instances", value)]).Build());
            services.AddServerlessMetaApplication();
            using var provider = services.BuildServiceProvider();
            return provider.GetRequiredService<IOptions<PretrainingServiceOptions>>().Value;
        }

        Assert.Equal(16, Read("16").Instances);
        var e = Assert.Throws<OptionsValidationException>(() => Read("0"));
        Assert.Contains("SMETA_PRETRAINING__INSTANCES", e.Message, StringComparison.Ordinal);
    }
}
