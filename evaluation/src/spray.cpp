#include <bowlrp/evaluation/spray.h>

#include <bowlrp/decompose/explain.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/core/lapack.h>

#include <chrono>
#include <mutex>
#include <optional>

#include <algorithm>
#include <cstddef>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace bowlrp::evaluation {
namespace {

[[noreturn]] void bad(const std::string& field, long long value, const std::string& expected) {
  throw std::invalid_argument("SprayOptions." + field + " = " + std::to_string(value) + ": expected " + expected);
}

// Weights of the pixels [0, size) inside [begin, end) (fractional at the ends).
double overlap(int pixel, double begin, double end) {
  return std::max(0.0, std::min(end, pixel + 1.0) - std::max(begin, static_cast<double>(pixel)));
}

// Seeded k-means on n points of dimension d: k-means++ seeding, Lloyd; returns labels and inertia.
double kmeans(const std::vector<double>& x, std::size_t n, std::size_t d, int k, int max_iterations, std::mt19937_64& rng,
              std::vector<int>* labels) {
  const auto dist2 = [&](std::size_t i, const double* c) {
    double s = 0;
    for (std::size_t j = 0; j < d; ++j) s += (x[i * d + j] - c[j]) * (x[i * d + j] - c[j]);
    return s;
  };
  std::vector<double> centres(static_cast<std::size_t>(k) * d);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::size_t first = static_cast<std::size_t>(rng() % n);
  std::copy(x.begin() + first * d, x.begin() + (first + 1) * d, centres.begin());
  std::vector<double> nearest(n);
  for (std::size_t i = 0; i < n; ++i) nearest[i] = dist2(i, centres.data());
  for (int c = 1; c < k; ++c) {
    const double total = std::accumulate(nearest.begin(), nearest.end(), 0.0);
    std::size_t pick = 0;
    if (total > 0) {
      double r = u(rng) * total;
      for (pick = 0; pick + 1 < n && r >= nearest[pick]; ++pick) r -= nearest[pick];
    } else {
      pick = static_cast<std::size_t>(rng() % n);
    }
    std::copy(x.begin() + pick * d, x.begin() + (pick + 1) * d, centres.begin() + c * d);
    for (std::size_t i = 0; i < n; ++i) nearest[i] = std::min(nearest[i], dist2(i, centres.data() + c * d));
  }
  labels->assign(n, 0);
  double inertia = 0;
  for (int it = 0; it < max_iterations; ++it) {
    bool changed = it == 0;
    inertia = 0;
    for (std::size_t i = 0; i < n; ++i) {
      int best = 0;
      double bd = dist2(i, centres.data());
      for (int c = 1; c < k; ++c) {
        const double dc = dist2(i, centres.data() + c * d);
        if (dc < bd) {
          bd = dc;
          best = c;
        }
      }
      if ((*labels)[i] != best) changed = true;
      (*labels)[i] = best;
      inertia += bd;
    }
    if (!changed) break;
    std::vector<double> sum(static_cast<std::size_t>(k) * d, 0.0);
    std::vector<std::size_t> count(static_cast<std::size_t>(k), 0);
    for (std::size_t i = 0; i < n; ++i) {
      ++count[static_cast<std::size_t>((*labels)[i])];
      for (std::size_t j = 0; j < d; ++j) sum[static_cast<std::size_t>((*labels)[i]) * d + j] += x[i * d + j];
    }
    for (int c = 0; c < k; ++c)
      if (count[static_cast<std::size_t>(c)])  // an emptied cluster keeps its centre
        for (std::size_t j = 0; j < d; ++j)
          centres[c * d + j] = sum[c * d + j] / static_cast<double>(count[static_cast<std::size_t>(c)]);
  }
  return inertia;
}

}  // namespace

void SprayOptions::validate() const {
  if (grid_width < 1) bad("grid_width", grid_width, "a cell count >= 1");
  if (grid_height < 1) bad("grid_height", grid_height, "a cell count >= 1");
  if (neighbours < 1) bad("neighbours", neighbours, "a count >= 1");
  if (eigenvalues < 2) bad("eigenvalues", eigenvalues, "a count >= 2 (the eigengap needs two)");
  if (clusters < 0) bad("clusters", clusters, "0 (from the eigengap) or a count >= 1");
  if (min_clusters < 1 || min_clusters >= eigenvalues)
    bad("min_clusters", min_clusters, "a count >= 1 and below eigenvalues (" + std::to_string(eigenvalues) + ")");
  if (restarts < 1) bad("restarts", restarts, "a count >= 1");
  if (max_iterations < 1) bad("max_iterations", max_iterations, "a count >= 1");
}

std::vector<double> downsize_map(const double* map, int width, int height, int grid_width, int grid_height) {
  if (width < 1 || height < 1 || grid_width < 1 || grid_height < 1)
    throw std::invalid_argument("downsize_map: a " + std::to_string(width) + "x" + std::to_string(height) +
                                " map onto a " + std::to_string(grid_width) + "x" + std::to_string(grid_height) +
                                " grid: expected sizes >= 1");
  const double sx = static_cast<double>(width) / grid_width, sy = static_cast<double>(height) / grid_height;
  // Along x: H rows of gw cell sums, then along y.
  std::vector<double> rows(static_cast<std::size_t>(height) * grid_width, 0.0);
  for (int y = 0; y < height; ++y)
    for (int u = 0; u < grid_width; ++u) {
      const double b = u * sx, e = (u + 1) * sx;
      double s = 0;
      for (int x = static_cast<int>(std::floor(b)); x < std::min(width, static_cast<int>(std::ceil(e))); ++x)
        s += overlap(x, b, e) * map[static_cast<std::size_t>(y) * width + x];
      rows[static_cast<std::size_t>(y) * grid_width + u] = s;
    }
  std::vector<double> out(static_cast<std::size_t>(grid_width) * grid_height, 0.0);
  for (int v = 0; v < grid_height; ++v) {
    const double b = v * sy, e = (v + 1) * sy;
    for (int y = static_cast<int>(std::floor(b)); y < std::min(height, static_cast<int>(std::ceil(e))); ++y) {
      const double w = overlap(y, b, e);
      for (int u = 0; u < grid_width; ++u)
        out[static_cast<std::size_t>(v) * grid_width + u] += w * rows[static_cast<std::size_t>(y) * grid_width + u];
    }
  }
  for (double& c : out) c /= sx * sy;  // sums -> means over the cell's area
  return out;
}

std::vector<double> preprocess(const std::vector<std::vector<double>>& maps, const SprayOptions& options) {
  options.validate();
  const std::size_t G = static_cast<std::size_t>(options.grid_width) * options.grid_height;
  std::vector<double> x(maps.size() * G);
  for (std::size_t i = 0; i < maps.size(); ++i) {
    if (maps[i].size() != G)
      throw std::invalid_argument("spray: map " + std::to_string(i) + " has " + std::to_string(maps[i].size()) +
                                  " values: expected grid_width x grid_height = " + std::to_string(G));
    double peak = 0;
    for (double v : maps[i]) {
      if (!std::isfinite(v)) throw std::invalid_argument("spray: map " + std::to_string(i) + " holds a non-finite value");
      peak = std::max(peak, std::fabs(v));
    }
    const double scale = options.normalise && peak > 0 ? 1.0 / peak : 1.0;
    for (std::size_t g = 0; g < G; ++g) x[i * G + g] = maps[i][g] * scale;
  }
  return x;
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

  // Symmetric k-nearest-neighbour connectivity (distances in a fixed order; ties to the lower index).
  const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(options.neighbours), n - 1);
  std::vector<double> d2(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      double s = 0;
      for (std::size_t g = 0; g < G; ++g) s += (x[i * G + g] - x[j * G + g]) * (x[i * G + g] - x[j * G + g]);
      d2[i * n + j] = d2[j * n + i] = s;
    }
  std::vector<char> adjacent(n * n, 0);
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) {
    order.resize(n);
    std::iota(order.begin(), order.end(), 0);
    order.erase(order.begin() + static_cast<std::ptrdiff_t>(i));
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return d2[i * n + a] < d2[i * n + b]; });
    for (std::size_t q = 0; q < k; ++q) adjacent[i * n + order[q]] = adjacent[order[q] * n + i] = 1;
  }
  // Normalised Laplacian L = I - D^-1/2 A D^-1/2 (every node has degree >= k >= 1).
  std::vector<double> degree(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) degree[i] += adjacent[i * n + j];
  std::vector<double> L(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      L[i * n + j] = (i == j ? 1.0 : 0.0) - (adjacent[i * n + j] ? 1.0 / std::sqrt(degree[i] * degree[j]) : 0.0);
  const int m = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(options.eigenvalues), n));
  std::vector<double> vectors;
  core::symmetric_eigenpairs(std::move(L), static_cast<int>(n), 1, m, "spray", &r.eigenvalues, &vectors);

  // Eigengap.
  int gap_at = std::min(options.min_clusters, m - 1);
  double gap = -1;
  for (int i = gap_at; i < m; ++i) {
    const double g = r.eigenvalues[static_cast<std::size_t>(i)] - r.eigenvalues[static_cast<std::size_t>(i) - 1];
    if (g > gap) {
      gap = g;
      gap_at = i;
    }
  }
  r.eigengap_clusters = gap_at;
  r.clusters = options.clusters > 0 ? options.clusters : gap_at;
  const std::size_t c = static_cast<std::size_t>(r.clusters);
  if (c > static_cast<std::size_t>(m))
    throw std::invalid_argument("spray: " + std::to_string(c) + " clusters asked for but only " + std::to_string(m) +
                                " eigenvectors computed: raise SprayOptions.eigenvalues");

  // Row-normalised embedding (eigenvector signs fixed: largest |entry| positive, so the seed decides alone).
  r.embedding.assign(n * c, 0.0);
  for (std::size_t e = 0; e < c; ++e) {
    const double* col = vectors.data() + e * n;
    std::size_t arg = 0;
    for (std::size_t i = 1; i < n; ++i)
      if (std::fabs(col[i]) > std::fabs(col[arg])) arg = i;
    const double sign = col[arg] < 0 ? -1.0 : 1.0;
    for (std::size_t i = 0; i < n; ++i) r.embedding[i * c + e] = sign * col[i];
  }
  for (std::size_t i = 0; i < n; ++i) {
    double norm = 0;
    for (std::size_t e = 0; e < c; ++e) norm += r.embedding[i * c + e] * r.embedding[i * c + e];
    norm = std::sqrt(norm);
    if (norm > 0)
      for (std::size_t e = 0; e < c; ++e) r.embedding[i * c + e] /= norm;
  }

  // Seeded k-means with restarts; the lowest inertia wins (the first on ties).
  std::mt19937_64 rng(options.seed ^ 0x5eed5eedULL);
  std::vector<int> best, labels;
  double best_inertia = std::numeric_limits<double>::infinity();
  for (int t = 0; t < options.restarts; ++t) {
    const double inertia = kmeans(r.embedding, n, c, r.clusters, options.max_iterations, rng, &labels);
    if (inertia < best_inertia) {
      best_inertia = inertia;
      best = labels;
    }
  }
  r.inertia = best_inertia;
  // Renumber by decreasing size (ties: the cluster whose first member comes first).
  std::vector<std::size_t> size(c, 0), first(c, n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t l = static_cast<std::size_t>(best[i]);
    ++size[l];
    first[l] = std::min(first[l], i);
  }
  std::vector<std::size_t> rank(c);
  std::iota(rank.begin(), rank.end(), 0);
  std::sort(rank.begin(), rank.end(), [&](std::size_t a, std::size_t b) {
    return size[a] != size[b] ? size[a] > size[b] : first[a] < first[b];
  });
  std::vector<int> relabel(c);
  for (std::size_t q = 0; q < c; ++q) relabel[rank[q]] = static_cast<int>(q);
  r.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) r.labels[i] = relabel[static_cast<std::size_t>(best[i])];
  // Sizes, mean maps, typical members. Empty clusters (k-means may leave one) keep size 0.
  r.sizes.assign(c, 0);
  r.mean_maps.assign(c, std::vector<double>(G, 0.0));
  std::vector<std::vector<double>> centre(c, std::vector<double>(c, 0.0));
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t l = static_cast<std::size_t>(r.labels[i]);
    ++r.sizes[l];
    for (std::size_t g = 0; g < G; ++g) r.mean_maps[l][g] += x[i * G + g];
    for (std::size_t e = 0; e < c; ++e) centre[l][e] += r.embedding[i * c + e];
  }
  r.typical.assign(c, n);
  r.ranked_members.assign(c, {});
  std::vector<double> centre_dist(n, 0.0);
  std::vector<double> closest(c, std::numeric_limits<double>::infinity());
  for (std::size_t l = 0; l < c; ++l)
    if (r.sizes[l]) {
      for (double& v : r.mean_maps[l]) v /= static_cast<double>(r.sizes[l]);
      for (double& v : centre[l]) v /= static_cast<double>(r.sizes[l]);
    }
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t l = static_cast<std::size_t>(r.labels[i]);
    double s = 0;
    for (std::size_t e = 0; e < c; ++e) s += (r.embedding[i * c + e] - centre[l][e]) * (r.embedding[i * c + e] - centre[l][e]);
    centre_dist[i] = s;
    r.ranked_members[l].push_back(i);
    if (s < closest[l]) {
      closest[l] = s;
      r.typical[l] = i;
    }
  }
  for (auto& members : r.ranked_members)
    std::stable_sort(members.begin(), members.end(), [&](std::size_t a, std::size_t b) { return centre_dist[a] < centre_dist[b]; });
  // The spectral layout: eigenvectors 2 and 3 (signs fixed as above).
  r.layout.assign(n * 2, 0.0);
  for (std::size_t e = 1; e < std::min<std::size_t>(3, static_cast<std::size_t>(m)); ++e) {
    const double* col = vectors.data() + e * n;
    std::size_t arg = 0;
    for (std::size_t i = 1; i < n; ++i)
      if (std::fabs(col[i]) > std::fabs(col[arg])) arg = i;
    const double sign = col[arg] < 0 ? -1.0 : 1.0;
    for (std::size_t i = 0; i < n; ++i) r.layout[i * 2 + (e - 1)] = sign * col[i];
  }
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
