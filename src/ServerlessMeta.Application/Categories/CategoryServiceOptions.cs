namespace ServerlessMeta.Application.Categories;

/// <summary>Tuning of <see cref="CategoryService"/>.</summary>
public sealed class CategoryServiceOptions
{
    /// <summary>Most items one predict call may carry.</summary>
    public int MaxPredictItems { get; set; } = 10_000;

    /// <summary>Adapted category models kept loaded (per process).</summary>
    public int ModelCacheSize { get; set; } = 256;

    /// <summary>Meta-models kept loaded (per process): the newest of each algorithm that categories are created from.</summary>
    public int MetaModelCacheSize { get; set; } = 6;

    /// <summary>How long the list of meta-models is reused before the registry is asked again (a newer meta-model is used within this long; the first one at once).</summary>
    public TimeSpan MetaModelRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>At most this many folds for the held-out estimate.</summary>
    public int MaxFolds { get; set; } = 5;

    /// <summary>Feedback adapts on at most this many of each label's newest examples.</summary>
    public int MaxExamplesPerLabel { get; set; } = 100;

    /// <summary>Hidden width of models adapted from scratch (no meta-model yet).</summary>
    public int ScratchHiddenWidth { get; set; } = 64;

    /// <summary>Hashed text buckets of models adapted from scratch (beside the text encoder's embedding, see <see cref="TextFeaturesOptions"/>).</summary>
    public int ScratchTextDimension { get; set; } = 256;

    /// <summary>Algorithm adapted from scratch when no meta-model exists and none is asked for.</summary>
    public string DefaultAlgorithm { get; set; } = "protonet";
}
