using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using ServerlessMeta.Application.Categories;
using ServerlessMeta.Orchestration.Local;

namespace ServerlessMeta.Application.IntegrationTests;

/// <summary>Adaptation and prediction report traces and metrics on the ServerlessMeta source and meter.</summary>
[Collection(AzuriteCollectionDefinition.Name)]
public sealed class TelemetryTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task CreatingAndPredictingEmitActivitiesAndRecordMetrics()
    {
        var suffix = Guid.NewGuid().ToString("N")[..12];
        await using var services = LocalPretrainingHost.CreateServices(azurite.ConnectionString, "c" + suffix, "T" + suffix, "test");
        var categories = services.GetRequiredService<CategoryService>();
        var activities = new ConcurrentQueue<Activity>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ServerlessMetaTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(activityListener);
        var measurements = new ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var meterListener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ServerlessMetaTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        meterListener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => measurements.Enqueue((instrument.Name, value, ToDictionary(tags))));
        meterListener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => measurements.Enqueue((instrument.Name, value, ToDictionary(tags))));
        meterListener.Start();

        ExampleInput Example(string text, string label) => new(null, text, label);
        await categories.CreateAsync(new CreateCategoryCommand(CategoryId.Parse("traced", "id"), [Example("red ring", "ring"), Example("gold ring", "ring"), Example("long necklace", "necklace"), Example("pearl necklace", "necklace")]));
        await categories.PredictAsync(CategoryId.Parse("traced", "id"), [new ItemInput(null, "silver ring"), new ItemInput(null, "short necklace"), new ItemInput(null, "ring")]);

        var create = Assert.Single(activities, a => a.OperationName == "smeta.category.create");
        Assert.Equal("traced", create.GetTagItem("smeta.category_id"));
        Assert.Equal(1, create.GetTagItem("smeta.version"));
        Assert.Equal("from-scratch", create.GetTagItem("smeta.chosen"));
        var predict = Assert.Single(activities, a => a.OperationName == "smeta.category.predict");
        Assert.Equal(3, predict.GetTagItem("smeta.items"));

        var adaptation = Assert.Single(measurements, m => m.Instrument == "smeta.adaptation.duration");
        Assert.True(adaptation.Value > 0);
        Assert.Equal("protonet", adaptation.Tags["smeta.algorithm"]);
        Assert.Single(measurements, m => m.Instrument == "smeta.prediction.duration");
        Assert.Equal(3, Assert.Single(measurements, m => m.Instrument == "smeta.prediction.items").Value);
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            result[tag.Key] = tag.Value;
        }

        return result;
    }
}
