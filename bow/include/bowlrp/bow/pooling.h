// Pooling of mapped local features into the Bag-of-Words histogram (the paper's Eq 9).
//
// With a spatial pyramid of levels (cols x rows cells each; a feature belongs to the cell that
// holds its centre: column floor((x + 1/2) * cols / width), x the centre in original px whose
// pixel spans [x - 1/2, x + 1/2); rows alike), cell c of the pyramid (cells numbered level by
// level, row-major) and word k give dimension d = c * K + k, so V = K * total_cells. With M_c
// features in cell c:
//   p finite: x_d = ( (1/M_c) * sum_{l in c} m_k(l)^p )^(1/p)     (p = 1: average = sum pooling
//                                                                   up to the normalisation)
//             evaluated for p != 1 as  x_d = u * ( (1/M_c) sum_{l in c} (m_k(l)/u)^p )^(1/p),
//             u = max_{l in c} m_k(l): each term is in [0, 1] and the maximiser's is 1, so nothing
//             overflows or underflows for any p (x_d -> max pooling as p -> inf); p = 1 keeps the
//             plain sum times 1/M_c, bit for bit
//   p = inf : x_d = max_{l in c} m_k(l)                             (max pooling)
// (an empty cell, M_c = 0, gives x_d = 0), then optionally the Hellinger map x_d <- sqrt(x_d)
// and a normalisation (L1 or L2) of the whole vector: h_d = g(x_d) / N (an all-zero vector
// stays zero, N = 1). Both are per-dimension monotone maps of x_d for a given image, so the
// relevance R_d of h_d passes unchanged to x_d and is split over features as
// m_k(l)^p / sum_l' m_k(l')^p = (m_k(l)/u)^p / sum_l' (m_k(l')/u)^p (ties of max pooling split
// evenly); a dimension with x_d = 0 spreads its R_d evenly over the M_c features of its cell c
// (over all features of the image when M_c = 0), see decompose/feature_relevance.h.
#pragma once

#include <bowlrp/bow/dsift.h>
#include <bowlrp/bow/mapping.h>
#include <bowlrp/core/pyramid.h>

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

namespace bowlrp::bow {

/// Vector normalisation after pooling.
enum class Normalisation { none, l1, l2 };
/// "none", "l1" or "l2".
std::string to_string(Normalisation n);
/// Parses "none", "l1" or "l2"; throws std::invalid_argument otherwise.
Normalisation normalisation_from_string(const std::string& name);

/// Options of pooling.
struct PoolingOptions {
  double p = 1.0;                                 ///< p-means exponent (> 0), infinity = max pooling
  std::vector<core::PyramidLevel> pyramid = std::vector<core::PyramidLevel>(1);  ///< levels; one 1x1 level = no pyramid
  Normalisation normalisation = Normalisation::l1;  ///< of the final vector
  bool hellinger = false;                         ///< sqrt map before normalisation
  /// Whether p is infinite (max pooling).
  bool is_max() const { return p == std::numeric_limits<double>::infinity(); }
  /// Total number of pyramid cells.
  int cells() const;
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
  /// Every option, described once, each recorded under its field's name.
  static const core::OptionSchema<PoolingOptions>& schema();
};

/// What pooling computed and what the feature relevance step needs.
struct PoolTrace {
  int words = 0;                      ///< K
  int cells = 0;                      ///< total pyramid cells
  int levels = 1;                     ///< pyramid levels
  double p = 1.0;                     ///< exponent used (infinity for max)
  std::vector<int> feature_cells;     ///< features x levels: global cell of feature l at level j
  std::vector<int> cell_counts;       ///< M_c, features per cell
  std::vector<double> pooled;         ///< x_d before Hellinger map and normalisation, size V
  std::vector<double> histogram;      ///< h_d, the classifier's input, size V
  double norm = 1.0;                  ///< N, the normalisation divisor applied (1 if none)
  /// V = words * cells.
  std::size_t dimension() const { return static_cast<std::size_t>(words) * cells; }
};

/// Global pyramid cell of every feature at every level (features x levels, row-major; cells numbered
/// level by level, row-major), by the rule of the header note; *counts, if given, receives M_c.
std::vector<int> pyramid_cells(const FeatureTrace& features, const std::vector<core::PyramidLevel>& pyramid,
                               std::vector<int>* counts = nullptr);

/// Pools an assignment into a histogram; immutable and thread-safe.
class Pooler {
 public:
  /// Validates the options (throws std::invalid_argument); words = K.
  Pooler(int words, PoolingOptions options = {});
  /// Pools; frames give the centres (original px) and width/height the image size.
  PoolTrace pool(const FeatureTrace& features, const Assignment& assignment) const;
  /// Histogram length V.
  std::size_t dimension() const;
  /// The options in use.
  const PoolingOptions& options() const { return options_; }

 private:
  int words_;
  PoolingOptions options_;
};

}  // namespace bowlrp::bow
