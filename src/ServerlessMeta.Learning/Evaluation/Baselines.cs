using ServerlessMeta.Learning.Data;
using ServerlessMeta.Learning.Models;
using ServerlessMeta.Learning.Tasks;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ServerlessMeta.Learning.Evaluation;

/// <summary>Non-meta-learning baselines, evaluated on the same episodes as the meta-learners.</summary>
public static class Baselines
{
    /// <summary>Nearest class mean by squared Euclidean distance on the raw (featurized) features.</summary>
    public static double NearestCentroidAccuracy(Episode episode)
    {
        ArgumentNullException.ThrowIfNull(episode);
        var centroids = NearestCentroid.Fit(episode.Support, episode.Ways);
        var predictions = centroids.Classify(episode.Query.Features, episode.Query.Count);
        return (double)predictions.Zip(episode.Query.Classes!).Count(p => p.First == p.Second) / episode.Query.Count;
    }

    /// <summary>
    /// The classifiers' network (<see cref="EmbeddingNetwork"/>, conventionally initialised) plus a
    /// linear head, trained from scratch on the support set only with Adam.
    /// </summary>
    public static double ScratchAccuracy(Episode episode, int hiddenWidth, long seed, int steps = 100, double learningRate = 0.01)
    {
        ArgumentNullException.ThrowIfNull(episode);
        using var scope = NewDisposeScope();
        var network = new EmbeddingNetwork(episode.Support.Dimension, hiddenWidth);
        var random = new DeterministicRandom((ulong)seed);
        var parameters = network.InitializeRandom(random)
            .Select(p => new TorchSharp.Modules.Parameter(p.Data.ToTensor()))
            .ToList();
        var headInit = Init.Uniform(random, [episode.Ways, network.OutputDimension], network.OutputDimension);
        var headWeight = new TorchSharp.Modules.Parameter(headInit.ToTensor());
        var headBias = new TorchSharp.Modules.Parameter(zeros(episode.Ways));
        var all = parameters.Append(headWeight).Append(headBias).ToList();
        using var optimizer = optim.Adam(all, learningRate);
        var x = tensor(episode.Support.Features, [episode.Support.Count, episode.Support.Dimension]);
        var y = tensor(episode.Support.Classes!.Select(c => (long)c).ToArray(), [episode.Support.Count]);
        for (var step = 0; step < steps; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = F.cross_entropy(F.linear(network.Forward(x, parameters), headWeight, headBias), y);
            loss.backward();
            optimizer.step();
        }

        using var noGrad = no_grad();
        var query = tensor(episode.Query.Features, [episode.Query.Count, episode.Query.Dimension]);
        var predicted = F.linear(network.Forward(query, parameters), headWeight, headBias).argmax(1).data<long>().ToArray();
        return (double)predicted.Zip(episode.Query.Classes!).Count(p => p.First == p.Second) / episode.Query.Count;
    }
}

/// <summary>Nearest-centroid classifier on raw feature vectors (managed code, no tensors).</summary>
public sealed class NearestCentroid
{
    private readonly float[] _centroids;
    private readonly int _dimension;
    private readonly int _ways;

    private NearestCentroid(float[] centroids, int dimension, int ways)
    {
        _centroids = centroids;
        _dimension = dimension;
        _ways = ways;
    }

    public static NearestCentroid Fit(TaskSet support, int ways)
    {
        ArgumentNullException.ThrowIfNull(support);
        var d = support.Dimension;
        var sums = new double[ways * d];
        var counts = new int[ways];
        for (var i = 0; i < support.Count; i++)
        {
            var c = support.Classes![i];
            counts[c]++;
            for (var j = 0; j < d; j++)
            {
                sums[(c * d) + j] += support.Features[(i * d) + j];
            }
        }

        var centroids = new float[ways * d];
        for (var c = 0; c < ways; c++)
        {
            for (var j = 0; j < d; j++)
            {
                centroids[(c * d) + j] = counts[c] == 0 ? float.NaN : (float)(sums[(c * d) + j] / counts[c]);
            }
        }

        return new NearestCentroid(centroids, d, ways);
    }

    /// <summary>Squared distances to each centroid, turned into probabilities with softmax(−distance).</summary>
    public float[] Probabilities(float[] features, int count)
    {
        ArgumentNullException.ThrowIfNull(features);
        var result = new float[count * _ways];
        for (var i = 0; i < count; i++)
        {
            var row = result.AsSpan(i * _ways, _ways);
            var max = double.NegativeInfinity;
            for (var c = 0; c < _ways; c++)
            {
                double distance = 0;
                for (var j = 0; j < _dimension; j++)
                {
                    var diff = features[(i * _dimension) + j] - _centroids[(c * _dimension) + j];
                    distance += diff * diff;
                }

                row[c] = (float)-distance;
                max = Math.Max(max, -distance);
            }

            double total = 0;
            for (var c = 0; c < _ways; c++)
            {
                row[c] = (float)Math.Exp(row[c] - max);
                total += row[c];
            }

            for (var c = 0; c < _ways; c++)
            {
                row[c] = (float)(row[c] / total);
            }
        }

        return result;
    }

    public int[] Classify(float[] features, int count)
    {
        var probabilities = Probabilities(features, count);
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var row = probabilities.AsSpan(i * _ways, _ways);
            var best = 0;
            for (var c = 1; c < _ways; c++)
            {
                if (row[c] > row[best])
                {
                    best = c;
                }
            }

            return best;
        })];
    }
}
