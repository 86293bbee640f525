using System.Globalization;
using ServerlessMeta.Learning;
using ServerlessMeta.Learning.Algorithms;
using ServerlessMeta.Learning.Tasks;
using ServerlessMeta.Storage;

namespace ServerlessMeta.Application;

/// <summary>
/// Everything that fixes a pretraining run: with the same plan over the same data snapshot, every
/// process samples the same tasks and computes the same updates. Small and serializable: it travels in
/// orchestration inputs; weights never do.
/// </summary>
public sealed record PretrainingPlan
{
    /// <summary>The run (a storage id): names its checkpoints, updates and the meta-model's lineage.</summary>
    public required string RunId { get; init; }

    /// <summary>maml, fomaml, reptile, metasgd, protonet or matchingnet.</summary>
    public required string Algorithm { get; init; }

    /// <summary>Outer rounds (meta-steps applied by the aggregate step).</summary>
    public int Rounds { get; init; } = 100;

    /// <summary>Tasks per round, split among <see cref="Shards"/>.</summary>
    public int MetaBatchSize { get; init; } = 32;

    public int Ways { get; init; } = 5;

    public int Shots { get; init; } = 5;

    /// <summary>Query examples per class in training episodes.</summary>
    public int QueriesPerClass { get; init; } = 5;

    /// <summary>Activities per round, each computing the summed update of its share of the tasks.</summary>
    public int Shards { get; init; } = 2;

    public long Seed { get; init; } = 1;

    /// <summary>Rounds per orchestration generation: ContinueAsNew after this many keeps the history small.</summary>
    public int CheckpointPeriod { get; init; } = 10;

    /// <summary>The data snapshot to train on; null pins the data as of the run's first step.</summary>
    public string? DataSnapshotId { get; init; }

    /// <summary>Evaluate on the validation categories every this many rounds (0: only at the end) for early stopping.</summary>
    public int ValidationInterval { get; init; } = 10;

    public int ValidationEpisodes { get; init; } = 50;

    public int TestEpisodes { get; init; } = 200;

    /// <summary>Query examples per class in evaluation episodes.</summary>
    public int EvaluationQueriesPerClass { get; init; } = 10;

    /// <summary>Share of categories held out for validation (early stopping), chosen by hashing ids with the seed.</summary>
    public double ValidationFraction { get; init; } = 0.15;

    /// <summary>Share of categories held out for the final test against the baseline.</summary>
    public double TestFraction { get; init; } = 0.2;

    public int HiddenWidth { get; init; } = 64;

    /// <summary>Hashed text buckets of the featurizer (the numeric dimension comes from the data).</summary>
    public int TextDimension { get; init; } = 256;

    /// <summary>
    /// Text features: <c>minilm</c> (the all-MiniLM-L6-v2 sentence embedding beside hashed n-grams) or
    /// <c>hashed</c> (n-grams only). Fixed when the run starts, so every worker featurizes alike.
    /// </summary>
    public string TextEncoder { get; init; } = TextFeaturesOptions.MiniLm;

    /// <summary>Examples per activity of the embedding phase (consecutive categories up to about this many).</summary>
    public int EmbeddingChunkSize { get; init; } = 2_000;

    public double? InnerLearningRate { get; init; }

    public int? InnerSteps { get; init; }

    public double? OuterLearningRate { get; init; }

    /// <summary>
    /// Local meta-steps per shard per round (1: exact synchronous meta-SGD, equal to the in-process loop).
    /// Above 1, each shard takes that many Adam steps on its own tasks from the round's checkpoint and the
    /// aggregate averages the shards' parameters (local SGD): fewer rounds for the same progress.
    /// </summary>
    public int LocalSteps { get; init; } = 1;

    /// <summary>Tasks computed in parallel inside one shard activity.</summary>
    public int ThreadsPerShard { get; init; } = 1;

    public MetaAlgorithm ParsedAlgorithm => MetaAlgorithms.Parse(Algorithm);

    /// <summary>The encoder of <see cref="TextEncoder"/> (null for hashed n-grams only).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Learning.Featurization.Text.TextEncoderInfo? Encoder => TextFeaturesOptions.Resolve(TextEncoder, "textEncoder");

    public void Validate()
    {
        StorageIds.Validate(RunId, "runId");
        try
        {
            _ = ParsedAlgorithm;
        }
        catch (ArgumentException e)
        {
            throw FieldErrors.Renamed(e, "algorithm");
        }

        Check(Rounds is >= 1 and <= 1_000_000, "rounds", "rounds must be between 1 and 1000000.");
        Check(MetaBatchSize is >= 1 and <= 100_000, "metaBatchSize", "metaBatchSize must be between 1 and 100000.");
        Check(Shards >= 1 && Shards <= MetaBatchSize, "shards", "shards must be between 1 and metaBatchSize.");
        Check(Ways is >= 2 and <= 50, "ways", "ways must be between 2 and 50.");
        Check(Shots is >= 1 and <= 1000, "shots", "shots must be between 1 and 1000.");
        Check(QueriesPerClass is >= 1 and <= 1000, "queriesPerClass", "queriesPerClass must be between 1 and 1000.");
        Check(EvaluationQueriesPerClass is >= 1 and <= 1000, "evaluationQueriesPerClass", "evaluationQueriesPerClass must be between 1 and 1000.");
        Check(CheckpointPeriod >= 1, "checkpointPeriod", "checkpointPeriod must be positive.");
        Check(ValidationInterval >= 0, "validationInterval", "validationInterval must not be negative.");
        Check(ValidationEpisodes is >= 1 and <= 100_000, "validationEpisodes", "validationEpisodes must be between 1 and 100000.");
        Check(TestEpisodes is >= 1 and <= 100_000, "testEpisodes", "testEpisodes must be between 1 and 100000.");
        Check(ValidationFraction is > 0 and < 1, "validationFraction", "validationFraction must be in (0, 1).");
        Check(TestFraction is > 0 and < 1 && ValidationFraction + TestFraction < 1, "testFraction", "testFraction must be in (0, 1) with validationFraction + testFraction below 1.");
        Check(HiddenWidth is >= 1 and <= 4096, "hiddenWidth", "hiddenWidth must be between 1 and 4096.");
        Check(TextDimension is >= 0 and <= 1 << 16, "textDimension", "textDimension must be between 0 and 65536.");
        _ = TextFeaturesOptions.Resolve(TextEncoder, "textEncoder");
        Check(EmbeddingChunkSize is >= 1 and <= 1_000_000, "embeddingChunkSize", "embeddingChunkSize must be between 1 and 1000000.");
        Check(InnerLearningRate is null or (> 0 and <= 10), "innerLearningRate", "innerLearningRate must be in (0, 10].");
        Check(InnerSteps is null or (>= 1 and <= 100), "innerSteps", "innerSteps must be between 1 and 100.");
        Check(OuterLearningRate is null or (> 0 and <= 10), "outerLearningRate", "outerLearningRate must be in (0, 10].");
        Check(LocalSteps is >= 1 and <= 1000, "localSteps", "localSteps must be between 1 and 1000.");
        Check(ThreadsPerShard is >= 1 and <= 64, "threadsPerShard", "threadsPerShard must be between 1 and 64.");
    }

    /// <summary>The outer-loop hyper-parameters of the plan: the algorithm's defaults with its overrides.</summary>
    public MetaLearningOptions Hyperparameters()
    {
        var options = MetaLearningOptions.DefaultsFor(ParsedAlgorithm, TaskKind.Classification);
        if (InnerLearningRate is { } inner)
        {
            options = options with { InnerLearningRate = inner };
        }

        if (InnerSteps is { } steps)
        {
            options = options with { InnerSteps = steps };
        }

        if (OuterLearningRate is { } outer)
        {
            options = options with { OuterLearningRate = outer };
        }

        options.Validate();
        return options;
    }

    /// <summary>The hyper-parameters recorded with the registered meta-model.</summary>
    public IReadOnlyDictionary<string, string> Describe(MetaLearningOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var c = CultureInfo.InvariantCulture;
        return new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["rounds"] = Rounds.ToString(c),
            ["metaBatchSize"] = MetaBatchSize.ToString(c),
            ["ways"] = Ways.ToString(c),
            ["shots"] = Shots.ToString(c),
            ["queriesPerClass"] = QueriesPerClass.ToString(c),
            ["shards"] = Shards.ToString(c),
            ["seed"] = Seed.ToString(c),
            ["localSteps"] = LocalSteps.ToString(c),
            ["hiddenWidth"] = HiddenWidth.ToString(c),
            ["textEncoder"] = TextEncoder,
            ["innerLearningRate"] = options.InnerLearningRate.ToString("R", c),
            ["innerSteps"] = options.InnerSteps.ToString(c),
            ["outerLearningRate"] = options.OuterLearningRate.ToString("R", c),
        };
    }

    private static void Check(bool condition, string field, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message, field);
        }
    }
}

/// <summary>A checkpoint blob pinned by its ETag: how weights are referred to in orchestration state.</summary>
public sealed record CheckpointRef(int Round, string BlobName, string ETag);

/// <summary>What the first step of a run fixed.</summary>
public sealed record PreparedRun(string DataSnapshotId, int TrainCategories, int ValidationCategories, int TestCategories, int InputDimension, CheckpointRef Initial);

/// <summary>One shard's work in one round.</summary>
public sealed record ShardRequest(PretrainingPlan Plan, int Round, int Shard, CheckpointRef Checkpoint);

/// <summary>A shard's summed update, stored as a blob (never in the orchestration history), and who computed it.</summary>
public sealed record ShardResult(int Shard, string BlobName, string ETag, int TaskCount, double LossSum, string Worker, double Milliseconds);

/// <summary>A whole round in one step (one shard): the shard's update, the outer step, and the validation when asked.</summary>
public sealed record RoundRequest(PretrainingPlan Plan, int Round, CheckpointRef Checkpoint, bool Validate = false);

/// <summary>A round's fan-in; with <see cref="Validate"/> the step also evaluates the new checkpoint on the validation categories (one activity less per validation round).</summary>
public sealed record AggregateRequest(PretrainingPlan Plan, int Round, CheckpointRef Previous, IReadOnlyList<ShardResult> Shards, bool Validate = false);

/// <summary>
/// The next checkpoint; <see cref="Applied"/> is false when an earlier execution had already written it.
/// <see cref="Validation"/> holds the checkpoint's validation figures when the request asked for them.
/// </summary>
public sealed record AggregateResult(CheckpointRef Checkpoint, double MeanLoss, bool Applied, string Worker, EvaluationResult? Validation = null);

public enum EvaluationSplit
{
    Validation,
    Test,
}

public sealed record EvaluationRequest(PretrainingPlan Plan, CheckpointRef Checkpoint, EvaluationSplit Split);

/// <summary>
/// Held-out quality: mean accuracy after adaptation, mean query loss, and nearest centroid on the same
/// features and episodes; <see cref="AdvantageCi95"/> is the 95% confidence half-width of the mean
/// per-episode difference (accuracy minus baseline), so a gain smaller than it may be chance.
/// </summary>
public sealed record EvaluationResult(int Round, EvaluationSplit Split, double Accuracy, double Loss, double BaselineAccuracy, int Episodes, double AdvantageCi95 = 0);

public sealed record FinishRequest(PretrainingPlan Plan, CheckpointRef Best, CheckpointRef Last, double? BestValidationAccuracy, IReadOnlyDictionary<string, int> Workers);

/// <summary>What a run produced.</summary>
/// <param name="Served">True when the meta-model beat the baseline and was registered as the serving (latest) meta-model.</param>
/// <param name="Version">The registered version, or null when not served.</param>
/// <param name="ModelBlob">Where the weights are: the registered version's blob, or the run's kept model.</param>
/// <param name="Reason">Why it is or is not served.</param>
/// <param name="RunId">The run.</param>
/// <param name="BestRound">The round of the registered (best on validation) weights.</param>
/// <param name="Rounds">Rounds trained.</param>
/// <param name="TestAccuracy">Held-out test accuracy after adaptation.</param>
/// <param name="BaselineAccuracy">Nearest centroid on raw features, same episodes.</param>
/// <param name="BestValidationAccuracy">The early-stopping figure of the best round.</param>
/// <param name="DataSnapshotId">The data lineage.</param>
/// <param name="Workers">Activity executions per worker id, as recorded in the orchestration history.</param>
public sealed record PretrainingOutcome(
    string RunId,
    bool Served,
    int? Version,
    string ModelBlob,
    string Reason,
    int BestRound,
    int Rounds,
    double TestAccuracy,
    double BaselineAccuracy,
    double? BestValidationAccuracy,
    string DataSnapshotId,
    IReadOnlyDictionary<string, int> Workers);
