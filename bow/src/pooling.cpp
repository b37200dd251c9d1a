#include <bowlrp/bow/pooling.h>
#include <bowlrp/core/option_text.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace bowlrp::bow {

std::string to_string(Normalisation n) {
  switch (n) {
    case Normalisation::none: return "none";
    case Normalisation::l1: return "l1";
    case Normalisation::l2: return "l2";
  }
  return "unknown";
}

Normalisation normalisation_from_string(const std::string& name) {
  if (name == "none") return Normalisation::none;
  if (name == "l1") return Normalisation::l1;
  if (name == "l2") return Normalisation::l2;
  throw std::invalid_argument("normalisation " + core::quoted(name) + ": expected none, l1 or l2");
}

int PoolingOptions::cells() const {
  int c = 0;
  for (const core::PyramidLevel& l : pyramid) c += l.cols * l.rows;
  return c;
}

const core::OptionSchema<PoolingOptions>& PoolingOptions::schema() {
  using O = PoolingOptions;
  using core::Recorded;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::record_as(core::pooling_option<O>("pooling", "--pooling", "sum | pmean:P | max",
                                                        [](O& o) -> double& { return o.p; }),
                                "p", Recorded::encoding));
    s.push_back(core::record_as(core::pyramid_option<O>("pyramid", "--pyramid", "bag-of-words: spatial pyramid levels COLSxROWS,...",
                                                        [](O& o) -> std::vector<core::PyramidLevel>& { return o.pyramid; }),
                                "pyramid", Recorded::encoding));
    s.push_back(core::record_as(
        core::choice_option<O>("normalisation", "--normalisation", "of the histogram: l1 | l2 | none", {"l1", "l2", "none"},
                               [](O& o) -> Normalisation& { return o.normalisation; },
                               [](Normalisation n) { return to_string(n); }, &normalisation_from_string),
        "normalisation", Recorded::encoding));
    s.push_back(core::record_as(core::bool_option<O>("hellinger", "--hellinger", "square-root map before normalisation",
                                                     [](O& o) -> bool& { return o.hellinger; }),
                                "hellinger", Recorded::encoding));
    return s;
  }();
  return schema;
}

void PoolingOptions::validate() const {
  if (!(p > 0) || std::isnan(p))
    throw std::invalid_argument("PoolingOptions::p = " + std::to_string(p) +
                                ": expected a value > 0 (1 = average/sum, infinity = max)");
  if (pyramid.empty())
    throw std::invalid_argument("PoolingOptions::pyramid is empty: expected at least one level, e.g. {{1, 1}}");
  for (std::size_t i = 0; i < pyramid.size(); ++i)
    if (pyramid[i].cols < 1 || pyramid[i].rows < 1 || pyramid[i].cols > 64 || pyramid[i].rows > 64)
      throw std::invalid_argument("PoolingOptions::pyramid[" + std::to_string(i) + "] = " +
                                  std::to_string(pyramid[i].cols) + "x" + std::to_string(pyramid[i].rows) +
                                  ": expected 1..64 cells across and down");
  if (normalisation != Normalisation::none && normalisation != Normalisation::l1 &&
      normalisation != Normalisation::l2)
    throw std::invalid_argument("PoolingOptions::normalisation is not none, l1 or l2");
}

std::vector<int> pyramid_cells(const FeatureTrace& features, const std::vector<core::PyramidLevel>& pyramid,
                               std::vector<int>* counts) {
  const std::size_t n = features.size(), levels = pyramid.size();
  int cells = 0;
  for (const core::PyramidLevel& L : pyramid) cells += L.cols * L.rows;
  std::vector<int> out(n * levels);
  if (counts) counts->assign(cells, 0);
  // The cell holding a feature's centre, whose continuous position in edge coordinates is x + 0.5
  // (pixel i spans [i, i + 1)).
  for (std::size_t l = 0; l < n; ++l) {
    const Frame& f = features.frames[l];
    int base = 0;
    for (std::size_t j = 0; j < levels; ++j) {
      const core::PyramidLevel& L = pyramid[j];
      const int cx = std::clamp(static_cast<int>(std::floor((f.x + 0.5) * L.cols / features.width)), 0, L.cols - 1);
      const int cy = std::clamp(static_cast<int>(std::floor((f.y + 0.5) * L.rows / features.height)), 0, L.rows - 1);
      const int c = base + cy * L.cols + cx;
      out[l * levels + j] = c;
      if (counts) ++(*counts)[c];
      base += L.cols * L.rows;
    }
  }
  return out;
}

Pooler::Pooler(int words, PoolingOptions options) : words_(words), options_(std::move(options)) {
  options_.validate();
  if (words < 1) throw std::invalid_argument("Pooler: words = " + std::to_string(words) + ", expected >= 1");
}

std::size_t Pooler::dimension() const { return static_cast<std::size_t>(words_) * options_.cells(); }

PoolTrace Pooler::pool(const FeatureTrace& features, const Assignment& assignment) const {
  const std::size_t n = features.size();
  if (assignment.features() != n)
    throw std::invalid_argument("Pooler::pool: the assignment maps " + std::to_string(assignment.features()) +
                                " features but the trace holds " + std::to_string(n));
  if (n > 0 && (features.width < 1 || features.height < 1))
    throw std::invalid_argument("Pooler::pool: the feature trace has no image size (" +
                                std::to_string(features.width) + "x" + std::to_string(features.height) + ")");
  PoolTrace t;
  t.words = words_;
  t.cells = options_.cells();
  t.levels = static_cast<int>(options_.pyramid.size());
  t.p = options_.p;
  const int levels = t.levels, K = words_;
  const bool is_max = options_.is_max();
  const double p = options_.p;

  t.feature_cells = pyramid_cells(features, options_.pyramid, &t.cell_counts);

  const std::size_t V = t.dimension();
  t.pooled.assign(V, 0.0);
  // Calls f(m, d) for each mapping weight m of each feature and each dimension d (one per pyramid
  // level) it is pooled into, in feature order; refuses a word index outside the codebook.
  auto for_each_pooled = [&](auto&& f) {
    for (std::size_t l = 0; l < n; ++l)
      for (std::uint32_t e = assignment.offsets[l]; e < assignment.offsets[l + 1]; ++e) {
        const int k = assignment.words[e];
        if (k < 0 || k >= K)
          throw std::invalid_argument("Pooler::pool: word index " + std::to_string(k) + " outside [0, " +
                                      std::to_string(K) + ")");
        const double m = assignment.weights[e];
        for (int j = 0; j < levels; ++j) f(m, static_cast<std::size_t>(t.feature_cells[l * levels + j]) * K + k);
      }
  };
  if (is_max || p == 1.0) {
    // Sum pooling keeps its plain arithmetic (sum, then one multiplication by 1/M_c): the
    // histograms, and so every trained model and AP, stay bit-identical.
    for_each_pooled([&](double m, std::size_t d) {
      double& x = t.pooled[d];
      if (is_max) x = std::max(x, m);
      else x += m;
    });
    if (!is_max) {
      for (int c = 0; c < t.cells; ++c) {
        if (t.cell_counts[c] == 0) continue;  // stays zero
        const double inv = 1.0 / t.cell_counts[c];
        for (int k = 0; k < K; ++k) t.pooled[static_cast<std::size_t>(c) * K + k] *= inv;
      }
    }
  } else {
    // p-means as max_l m * ((1/M_c) sum_l (m / max_l m)^p)^(1/p): every term is in [0, 1] and the
    // maximiser's is exactly 1, so the sum lies in [1, M_c] and neither overflows (m > 1, large p)
    // nor underflows to a false zero (m < 1, large p, where m^p would be 0 and the pool 0).
    std::vector<double>& top = t.pooled;  // max_l m per dimension, then the pooled value
    for_each_pooled([&](double m, std::size_t d) { top[d] = std::max(top[d], m); });
    std::vector<double> sum(V, 0.0);  // sum_l (m / max m)^p
    for_each_pooled([&](double m, std::size_t d) {
      if (m > 0) sum[d] += std::pow(m / top[d], p);
    });
    for (int c = 0; c < t.cells; ++c) {
      if (t.cell_counts[c] == 0) continue;  // stays zero
      const double inv = 1.0 / t.cell_counts[c];
      for (int k = 0; k < K; ++k) {
        const std::size_t d = static_cast<std::size_t>(c) * K + k;
        if (top[d] > 0) top[d] *= std::pow(sum[d] * inv, 1.0 / p);
      }
    }
  }

  t.histogram = t.pooled;
  if (options_.hellinger)
    for (double& h : t.histogram) h = std::sqrt(h);
  double norm = 1.0;
  if (options_.normalisation == Normalisation::l1) {
    double s = 0;
    for (double h : t.histogram) s += std::fabs(h);
    norm = s;
  } else if (options_.normalisation == Normalisation::l2) {
    double s = 0;
    for (double h : t.histogram) s += h * h;
    norm = std::sqrt(s);
  }
  if (!(norm > 0)) norm = 1.0;  // an all-zero vector stays zero
  t.norm = norm;
  if (norm != 1.0)
    for (double& h : t.histogram) h /= norm;
  return t;
}

}  // namespace bowlrp::bow
