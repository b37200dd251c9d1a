#include <bowlrp/evaluation/spray.h>

#include <bowlrp/decompose/explain.h>
#include <bowlrp/evaluation/heatmap_grid.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/evaluation/spectral_clustering.h>

#include <chrono>

#include <algorithm>
#include <cstddef>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::evaluation {
namespace {

[[noreturn]] void bad(const std::string& field, long long value, const std::string& expected) {
  throw std::invalid_argument("SprayOptions." + field + " = " + std::to_string(value) + ": expected " + expected);
}

}  // namespace

const core::OptionSchema<SprayOptions>& SprayOptions::schema() {
  using O = SprayOptions;
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::integer_option<O>("grid_width", "--grid-width", "cells across of the preprocessed maps",
                                        [](O& o) -> int& { return o.grid_width; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("grid_height", "--grid-height", "cells down of the preprocessed maps",
                                        [](O& o) -> int& { return o.grid_height; }, OptionRange::at_least(1)));
    s.push_back(core::choice_option<O>("normalisation", "--normalisation",
                                       "each preprocessed map divided by: max (its largest |value|) | l1 (the sum of "
                                       "|values|) | l2 (its Euclidean norm) | none",
                                       {"max", "l1", "l2", "none"}, [](O& o) -> MapNormalisation& { return o.normalisation; },
                                       [](MapNormalisation n) { return to_string(n); }, &map_normalisation_from_string));
    s.push_back(core::bool_option<O>("positive", "--no-positive",
                                     "keep only the positive part max(0, R) of each map before normalising",
                                     [](O& o) -> bool& { return o.positive; }, true));
    s.push_back(core::integer_option<O>("neighbours", "--neighbours", "k of the symmetric k-nearest-neighbour graph (capped at n - 1)",
                                        [](O& o) -> int& { return o.neighbours; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("eigenvalues", "--eigenvalues",
                                        "m, leading eigenpairs of the normalised Laplacian (capped at n)",
                                        [](O& o) -> int& { return o.eigenvalues; }, OptionRange::at_least(2)));
    s.push_back(core::integer_option<O>("clusters", "--clusters", "number of clusters (0: from the eigengap)",
                                        [](O& o) -> int& { return o.clusters; }, OptionRange::at_least(0)));
    s.push_back(core::integer_option<O>("min_clusters", "--min-clusters", "fewest clusters the eigengap may give (< eigenvalues)",
                                        [](O& o) -> int& { return o.min_clusters; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("restarts", "--restarts", "k-means restarts (the lowest within-cluster sum is kept)",
                                        [](O& o) -> int& { return o.restarts; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("max_iterations", "--max-iterations", "Lloyd iterations per k-means restart",
                                        [](O& o) -> int& { return o.max_iterations; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("seed", "--seed", "seed of k-means", [](O& o) -> std::uint64_t& { return o.seed; }));
    return s;
  }();
  return schema;
}

std::string to_string(SprayImagesOptions::Fill fill) {
  return fill == SprayImagesOptions::Fill::noise ? "noise" : "mean";
}

SprayImagesOptions::Fill spray_fill_from_string(const std::string& name) {
  if (name == "mean") return SprayImagesOptions::Fill::mean;
  if (name == "noise") return SprayImagesOptions::Fill::noise;
  throw std::invalid_argument("unknown fill " + core::quoted(name) + ": expected mean or noise");
}

const core::OptionSchema<SprayImagesOptions>& SprayImagesOptions::schema() {
  using O = SprayImagesOptions;
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    core::append_nested(&s, SprayOptions::schema(), [](O& o) -> SprayOptions& { return o.spray; });
    for (core::OptionSpec<O>& spec : s)
      if (spec.name == "seed") {  // this struct's own seed is the noise's
        spec.name = "kmeans_seed";
        spec.flag = "--kmeans-seed";
        spec.help = "seed of k-means on the embedding";
      }
    s.push_back(core::integer_option<O>("thumbnail", "--thumbnail",
                                        "side of the grey thumbnails averaged into each cluster's mean image, px",
                                        [](O& o) -> int& { return o.thumbnail; }, OptionRange::at_least(1)));
    s.push_back(core::real_option<O>("causal_share", "--causal-share",
                                     "share of a cluster's positive mean relevance its causal region holds",
                                     [](O& o) -> double& { return o.causal_share; }, OptionRange::left_open(0, 1)));
    s.push_back(core::choice_option<O>("fill", "--fill",
                                       "how the causal region is erased: mean (flat fill with the image's mean grey) | "
                                       "noise (the flipping noise)",
                                       {"mean", "noise"}, [](O& o) -> Fill& { return o.fill; },
                                       [](Fill f) { return to_string(f); }, &spray_fill_from_string));
    s.push_back(core::integer_option<O>("causal_images", "--causal-images",
                                        "members (and as many others) re-scored per cluster (0: no causal test)",
                                        [](O& o) -> int& { return o.causal_images; }, OptionRange::at_least(0)));
    s.push_back(core::integer_option<O>("flip_region", "--flip-region",
                                        "side of the flipping regions the causal region is made of, working px",
                                        [](O& o) -> int& { return o.flip_region; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("seed", "--seed", "seed of the flipping noise and of the choice of re-scored images",
                                        [](O& o) -> std::uint64_t& { return o.seed; }));
    core::append_nested(&s, decompose::Composite::schema(), [](O& o) -> decompose::Composite& { return o.composite; });
    s.push_back(core::integer_option<O>("threads", "", "worker threads (0: all cores)",
                                        [](O& o) -> int& { return o.threads; }, OptionRange::at_least(0)));
    return s;
  }();
  return schema;
}

void SprayOptions::validate() const {
  if (grid_width < 1) bad("grid_width", grid_width, "a cell count >= 1");
  if (grid_height < 1) bad("grid_height", grid_height, "a cell count >= 1");
  if (normalisation != MapNormalisation::max && normalisation != MapNormalisation::l1 &&
      normalisation != MapNormalisation::l2 && normalisation != MapNormalisation::none)
    bad("normalisation", static_cast<long long>(normalisation), "max, l1, l2 or none");
  if (neighbours < 1) bad("neighbours", neighbours, "a count >= 1");
  if (eigenvalues < 2) bad("eigenvalues", eigenvalues, "a count >= 2 (the eigengap needs two)");
  if (clusters < 0) bad("clusters", clusters, "0 (from the eigengap) or a count >= 1");
  if (min_clusters < 1 || min_clusters >= eigenvalues)
    bad("min_clusters", min_clusters, "a count >= 1 and below eigenvalues (" + std::to_string(eigenvalues) + ")");
  if (restarts < 1) bad("restarts", restarts, "a count >= 1");
  if (max_iterations < 1) bad("max_iterations", max_iterations, "a count >= 1");
}

std::vector<double> preprocess(const std::vector<std::vector<double>>& maps, const SprayOptions& options) {
  options.validate();
  return stack_grid_maps(maps, static_cast<std::size_t>(options.grid_width) * options.grid_height, options.normalisation,
                         options.positive, "spray");
}

SprayResult spray(const std::vector<std::vector<double>>& maps, const SprayOptions& options) {
  const std::size_t n = maps.size();
  if (n < 2) throw std::invalid_argument("spray: " + std::to_string(n) + " map(s): expected at least two to cluster");
  if (options.clusters > 0 && static_cast<std::size_t>(options.clusters) > n)
    throw std::invalid_argument("spray: SprayOptions.clusters = " + std::to_string(options.clusters) + " but only " +
                                std::to_string(n) + " maps: expected at most one cluster per map");
  const std::size_t G = static_cast<std::size_t>(options.grid_width) * options.grid_height;
  const std::vector<double> x = preprocess(maps, options);
  SprayResult r;
  r.images = n;

  // The graph, its normalised Laplacian and the m smallest eigenpairs.
  const std::vector<char> adjacent = knn_graph(x, n, G, static_cast<std::size_t>(options.neighbours));
  const std::size_t m = std::min<std::size_t>(static_cast<std::size_t>(options.eigenvalues), n);
  std::vector<double> vectors;
  smallest_eigenpairs(normalised_laplacian(adjacent, n), n, m, "spray", &r.eigenvalues, &vectors);

  // The number of clusters and the row-normalised embedding.
  r.eigengap_clusters = eigengap(r.eigenvalues, options.min_clusters);
  r.clusters = options.clusters > 0 ? options.clusters : r.eigengap_clusters;
  const std::size_t c = static_cast<std::size_t>(r.clusters);
  if (c > m)
    throw std::invalid_argument("spray: " + std::to_string(c) + " clusters asked for but only " + std::to_string(m) +
                                " eigenvectors computed: raise SprayOptions.eigenvalues");
  r.embedding = spectral_embedding(vectors, n, c);

  // Seeded k-means, clusters renumbered by decreasing size; sizes, mean maps, typical members.
  std::vector<int> best;
  r.inertia = seeded_kmeans(r.embedding, n, c, r.clusters, options.restarts, options.max_iterations, options.seed, &best);
  r.labels = relabel_by_size(best, c);
  ClusterSummary summary = summarise_clusters(x, G, r.embedding, c, r.labels);
  r.sizes = std::move(summary.sizes);
  r.mean_maps = std::move(summary.mean_points);
  r.typical = std::move(summary.typical);
  r.ranked_members = std::move(summary.ranked_members);
  r.layout = spectral_layout(vectors, n, m);
  return r;
}

namespace {

using core::mix_seed;
using core::seconds_since;

// The grid cells holding `share` of the positive mass of a map, largest first (ties: lower index).
std::vector<char> causal_region(const std::vector<double>& mean_map, double share) {
  std::vector<std::size_t> order(mean_map.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return mean_map[a] > mean_map[b]; });
  double positive = 0;
  for (double v : mean_map) positive += std::max(0.0, v);
  std::vector<char> region(mean_map.size(), 0);
  double taken = 0;
  for (std::size_t g : order) {
    if (mean_map[g] <= 0 || taken >= share * positive) break;
    region[g] = 1;
    taken += mean_map[g];
  }
  return region;
}

// Up to k of the candidates, a seeded choice, sorted.
std::vector<std::size_t> choose(std::vector<std::size_t> candidates, std::size_t k, std::uint64_t seed) {
  std::mt19937_64 rng(mix_seed(seed));
  for (std::size_t i = candidates.size(); i > 1; --i) std::swap(candidates[i - 1], candidates[rng() % i]);
  candidates.resize(std::min(k, candidates.size()));
  std::sort(candidates.begin(), candidates.end());
  return candidates;
}

}  // namespace

void SprayImagesOptions::validate() const {
  spray.validate();
  composite.validate();
  if (thumbnail < 1) throw std::invalid_argument("SprayImagesOptions.thumbnail = " + std::to_string(thumbnail) + ": expected a side >= 1 px");
  if (!(causal_share > 0 && causal_share <= 1))
    throw std::invalid_argument("SprayImagesOptions.causal_share = " + std::to_string(causal_share) + ": expected a share in (0, 1]");
  if (causal_images < 0)
    throw std::invalid_argument("SprayImagesOptions.causal_images = " + std::to_string(causal_images) + ": expected a count >= 0");
  if (flip_region < 1)
    throw std::invalid_argument("SprayImagesOptions.flip_region = " + std::to_string(flip_region) + ": expected a side >= 1 px");
  core::validate_threads(threads, "SprayImagesOptions.threads");
}

SprayAnalysis spray_images(const model::Model& model, const std::vector<std::string>& paths, std::size_t cls,
                           const SprayImagesOptions& options, const core::ProgressFn& progress) {
  options.validate();
  if (cls >= model.classes())
    throw std::out_of_range("spray_images: class index " + std::to_string(cls) + " out of range; the model has " +
                            std::to_string(model.classes()) + " classes");
  const SprayOptions& so = options.spray;
  const int gw = so.grid_width, gh = so.grid_height, t = options.thumbnail;
  SprayAnalysis a;
  a.paths = paths;
  a.cls = cls;
  a.grid_width = gw;
  a.grid_height = gh;
  a.thumbnail = t;
  const std::size_t N = paths.size();

  // 1. Explain every image: its grid map, its thumbnail and its score.
  auto t0 = std::chrono::steady_clock::now();
  const decompose::Explainer explainer = model.explainer(options.composite);
  std::vector<std::vector<double>> maps(N);
  std::vector<std::vector<float>> thumbs(N);
  std::vector<double> scores(N, 0.0);
  std::vector<std::string> errors(N);
  core::for_each_index(N, options.threads, "explain", progress, [&](std::size_t i) {
    try {
      const bow::GrayImage image = model.load_image(paths[i]);
      const model::Trace trace = model.encode(image);
      const decompose::Explanation e = explainer.explain(trace, cls);
      maps[i] = downsize_map(e.pixels.R.data(), e.pixels.width, e.pixels.height, gw, gh);
      scores[i] = e.dimensions.f;
      const std::vector<double> grey(image.pixels.begin(), image.pixels.end());
      const std::vector<double> th = downsize_map(grey.data(), image.width, image.height, t, t);
      thumbs[i].assign(th.begin(), th.end());
    } catch (const std::exception& ex) {
      errors[i] = ex.what();
    }
  });
  for (std::size_t i = 0; i < N; ++i) {
    if (!errors[i].empty()) {
      a.failures.push_back({paths[i], errors[i]});
      continue;
    }
    a.analysed.push_back(i);
    a.scores.push_back(scores[i]);
    a.grid_maps.push_back(std::move(maps[i]));
    a.thumbnails.push_back(std::move(thumbs[i]));
  }
  a.timings.emplace_back("explain", seconds_since(t0));
  if (a.analysed.size() < 2)
    throw std::invalid_argument("spray_images: " + std::to_string(a.analysed.size()) + " of " + std::to_string(N) +
                                " images could be explained: expected at least two to cluster" +
                                (a.failures.empty() ? std::string() : " (first failure: " + a.failures[0].reason + ")"));

  // 2. Cluster.
  t0 = std::chrono::steady_clock::now();
  a.result = spray(a.grid_maps, so);
  a.timings.emplace_back("spectral clustering", seconds_since(t0));
  const std::size_t n = a.analysed.size(), C = static_cast<std::size_t>(a.result.clusters);
  a.mean_images.assign(C, std::vector<float>(static_cast<std::size_t>(t) * t, 0.0f));
  {
    std::vector<std::vector<double>> sum(C, std::vector<double>(static_cast<std::size_t>(t) * t, 0.0));
    for (std::size_t k = 0; k < n; ++k)
      for (std::size_t q = 0; q < sum[0].size(); ++q) sum[static_cast<std::size_t>(a.result.labels[k])][q] += a.thumbnails[k][q];
    for (std::size_t c = 0; c < C; ++c)
      if (a.result.sizes[c])
        for (std::size_t q = 0; q < sum[c].size(); ++q)
          a.mean_images[c][q] = static_cast<float>(sum[c][q] / static_cast<double>(a.result.sizes[c]));
  }
  if (options.causal_images == 0) return a;

  // 3. Causal test: each cluster's region flipped in its members and in as many other images.
  t0 = std::chrono::steady_clock::now();
  a.causal.resize(C);
  std::vector<std::vector<std::pair<std::size_t, bool>>> jobs(n);  // per analysed image: (cluster, is member)
  for (std::size_t c = 0; c < C; ++c) {
    a.causal[c].region = causal_region(a.result.mean_maps[c], options.causal_share);
    std::vector<std::size_t> members, others;
    for (std::size_t k = 0; k < n; ++k) (static_cast<std::size_t>(a.result.labels[k]) == c ? members : others).push_back(k);
    // The budget: at most n / (4 C) members and as many others per cluster (at least one of each).
    const std::size_t take =
        std::min(static_cast<std::size_t>(options.causal_images), std::max<std::size_t>(1, n / (4 * C)));
    for (std::size_t k : choose(members, take, options.seed ^ mix_seed(2 * c + 1))) jobs[k].emplace_back(c, true);
    for (std::size_t k : choose(others, take, options.seed ^ mix_seed(2 * c + 2))) jobs[k].emplace_back(c, false);
  }
  const evaluation::IncrementalFlipper flipper = evaluation::IncrementalFlipper(model, cls);
  std::vector<std::vector<double>> drops(n);
  core::for_each_index(n, options.threads, "causal test", progress, [&](std::size_t k) {
    if (jobs[k].empty()) return;
    bow::GrayImage image;
    bow::Trace trace;
    // f(x) is the score of the explanation pass; only the noise fill needs the trace (its incremental
    // re-extraction), the flat fill re-encodes the erased image.
    const bool noise = options.fill == SprayImagesOptions::Fill::noise;
    try {  // read once already; should the file have changed since, the image drops out of the test
      image = model.load_image(paths[a.analysed[k]]);
      if (noise) trace = model.encode(image);
    } catch (const std::exception&) {
      drops[k].assign(jobs[k].size(), std::numeric_limits<double>::quiet_NaN());
      return;
    }
    const evaluation::RegionGrid grid(image.width, image.height, options.flip_region);
    const double f0 = a.scores[k];
    double mean = 0;
    for (float p : image.pixels) mean += p;
    mean /= static_cast<double>(image.pixels.size());
    for (const auto& job : jobs[k]) {
      const std::vector<char>& region = a.causal[job.first].region;
      const auto in_region = [&](double x, double y) {
        const int u = std::min(gw - 1, static_cast<int>(x / image.width * gw));
        const int v = std::min(gh - 1, static_cast<int>(y / image.height * gh));
        return region[static_cast<std::size_t>(v) * gw + u] != 0;
      };
      if (options.fill == SprayImagesOptions::Fill::mean) {
        bow::GrayImage erased = image;
        bool any = false;
        for (int y = 0; y < image.height; ++y)
          for (int x = 0; x < image.width; ++x)
            if (in_region(x + 0.5, y + 0.5)) {
              erased.pixels[static_cast<std::size_t>(y) * image.width + x] = static_cast<float>(mean);
              any = true;
            }
        drops[k].push_back(any ? f0 - model.scores(model.encode(erased))[cls] : 0.0);
        continue;
      }
      // The flipping regions whose centre falls in a cell of the cluster's region, flipped in one step.
      std::vector<int> order;
      for (int r = 0; r < grid.size(); ++r) {
        const bow::Box b = grid.box(r);
        if (in_region(0.5 * (b.x0 + b.x1), 0.5 * (b.y0 + b.y1))) order.push_back(r);
      }
      if (order.empty()) {
        drops[k].push_back(0.0);
        continue;
      }
      evaluation::PixelFlipOptions fo;
      fo.region_size = options.flip_region;
      fo.steps = 1;
      fo.regions_per_step = static_cast<int>(order.size());
      fo.random_orders = 0;
      fo.seed = options.seed;
      const std::vector<double> curve = flipper.flip_curve(image, trace, order, fo);
      drops[k].push_back(curve[0] - curve[1]);
    }
  });
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t j = 0; j < jobs[k].size(); ++j) {
      if (std::isnan(drops[k][j])) continue;
      SprayCausal& sc = a.causal[jobs[k][j].first];
      if (jobs[k][j].second) {
        ++sc.members;
        sc.member_drop += drops[k][j];
      } else {
        ++sc.others;
        sc.other_drop += drops[k][j];
      }
    }
  for (SprayCausal& sc : a.causal) {
    if (sc.members) sc.member_drop /= static_cast<double>(sc.members);
    if (sc.others) sc.other_drop /= static_cast<double>(sc.others);
  }
  a.timings.emplace_back("causal test", seconds_since(t0));
  return a;
}

}  // namespace bowlrp::evaluation
