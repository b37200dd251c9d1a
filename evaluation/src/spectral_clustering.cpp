#include <bowlrp/evaluation/spectral_clustering.h>

#include <bowlrp/core/lapack.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::evaluation {
namespace {

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

// Fixes the sign of an eigenvector of n entries: its largest |entry| (the first on ties) positive, so
// that the seed alone decides the clustering.
void fix_sign(double* col, std::size_t n) {
  std::size_t arg = 0;
  for (std::size_t i = 1; i < n; ++i)
    if (std::fabs(col[i]) > std::fabs(col[arg])) arg = i;
  const double sign = col[arg] < 0 ? -1.0 : 1.0;
  for (std::size_t i = 0; i < n; ++i) col[i] = sign * col[i];
}

}  // namespace

std::vector<char> knn_graph(const std::vector<double>& x, std::size_t n, std::size_t d, std::size_t k) {
  // Distances in a fixed order; ties to the lower index.
  k = std::min<std::size_t>(k, n - 1);
  std::vector<double> d2(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j) {
      double s = 0;
      for (std::size_t g = 0; g < d; ++g) s += (x[i * d + g] - x[j * d + g]) * (x[i * d + g] - x[j * d + g]);
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
  return adjacent;
}

std::vector<double> normalised_laplacian(const std::vector<char>& adjacent, std::size_t n) {
  std::vector<double> degree(n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j) degree[i] += adjacent[i * n + j];
  std::vector<double> L(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      L[i * n + j] = (i == j ? 1.0 : 0.0) - (adjacent[i * n + j] ? 1.0 / std::sqrt(degree[i] * degree[j]) : 0.0);
  return L;
}

void smallest_eigenpairs(std::vector<double> a, std::size_t n, std::size_t m, const std::string& who,
                         std::vector<double>* values, std::vector<double>* vectors) {
  core::symmetric_eigenpairs(std::move(a), static_cast<int>(n), 1, static_cast<int>(m), who, values, vectors);
  for (std::size_t e = 0; e < m; ++e) fix_sign(vectors->data() + e * n, n);
}

int eigengap(const std::vector<double>& eigenvalues, int min_clusters) {
  const int m = static_cast<int>(eigenvalues.size());
  int gap_at = std::min(min_clusters, m - 1);
  double gap = -1;
  for (int i = gap_at; i < m; ++i) {
    const double g = eigenvalues[static_cast<std::size_t>(i)] - eigenvalues[static_cast<std::size_t>(i) - 1];
    if (g > gap) {
      gap = g;
      gap_at = i;
    }
  }
  return gap_at;
}

std::vector<double> spectral_embedding(const std::vector<double>& vectors, std::size_t n, std::size_t c) {
  std::vector<double> embedding(n * c, 0.0);
  for (std::size_t e = 0; e < c; ++e) {
    const double* col = vectors.data() + e * n;
    for (std::size_t i = 0; i < n; ++i) embedding[i * c + e] = col[i];
  }
  for (std::size_t i = 0; i < n; ++i) {
    double norm = 0;
    for (std::size_t e = 0; e < c; ++e) norm += embedding[i * c + e] * embedding[i * c + e];
    norm = std::sqrt(norm);
    if (norm > 0)
      for (std::size_t e = 0; e < c; ++e) embedding[i * c + e] /= norm;
  }
  return embedding;
}

std::vector<double> spectral_layout(const std::vector<double>& vectors, std::size_t n, std::size_t m) {
  std::vector<double> layout(n * 2, 0.0);
  for (std::size_t e = 1; e < std::min<std::size_t>(3, m); ++e) {
    const double* col = vectors.data() + e * n;
    for (std::size_t i = 0; i < n; ++i) layout[i * 2 + (e - 1)] = col[i];
  }
  return layout;
}

double seeded_kmeans(const std::vector<double>& x, std::size_t n, std::size_t d, int k, int restarts, int max_iterations,
                     std::uint64_t seed, std::vector<int>* labels) {
  // The lowest inertia wins (the first on ties).
  std::mt19937_64 rng(seed ^ 0x5eed5eedULL);
  std::vector<int> best, run;
  double best_inertia = std::numeric_limits<double>::infinity();
  for (int t = 0; t < restarts; ++t) {
    const double inertia = kmeans(x, n, d, k, max_iterations, rng, &run);
    if (inertia < best_inertia) {
      best_inertia = inertia;
      best = run;
    }
  }
  *labels = std::move(best);
  return best_inertia;
}

std::vector<int> relabel_by_size(const std::vector<int>& best, std::size_t c) {
  const std::size_t n = best.size();
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
  std::vector<int> labels(n);
  for (std::size_t i = 0; i < n; ++i) labels[i] = relabel[static_cast<std::size_t>(best[i])];
  return labels;
}

ClusterSummary summarise_clusters(const std::vector<double>& x, std::size_t d, const std::vector<double>& embedding,
                                  std::size_t c, const std::vector<int>& labels) {
  // Empty clusters (k-means may leave one) keep size 0.
  const std::size_t n = labels.size();
  ClusterSummary r;
  r.sizes.assign(c, 0);
  r.mean_points.assign(c, std::vector<double>(d, 0.0));
  std::vector<std::vector<double>> centre(c, std::vector<double>(c, 0.0));
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t l = static_cast<std::size_t>(labels[i]);
    ++r.sizes[l];
    for (std::size_t g = 0; g < d; ++g) r.mean_points[l][g] += x[i * d + g];
    for (std::size_t e = 0; e < c; ++e) centre[l][e] += embedding[i * c + e];
  }
  r.typical.assign(c, n);
  r.ranked_members.assign(c, {});
  std::vector<double> centre_dist(n, 0.0);
  std::vector<double> closest(c, std::numeric_limits<double>::infinity());
  for (std::size_t l = 0; l < c; ++l)
    if (r.sizes[l]) {
      for (double& v : r.mean_points[l]) v /= static_cast<double>(r.sizes[l]);
      for (double& v : centre[l]) v /= static_cast<double>(r.sizes[l]);
    }
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t l = static_cast<std::size_t>(labels[i]);
    double s = 0;
    for (std::size_t e = 0; e < c; ++e) s += (embedding[i * c + e] - centre[l][e]) * (embedding[i * c + e] - centre[l][e]);
    centre_dist[i] = s;
    r.ranked_members[l].push_back(i);
    if (s < closest[l]) {
      closest[l] = s;
      r.typical[l] = i;
    }
  }
  for (auto& members : r.ranked_members)
    std::stable_sort(members.begin(), members.end(), [&](std::size_t a, std::size_t b) { return centre_dist[a] < centre_dist[b]; });
  return r;
}

}  // namespace bowlrp::evaluation
