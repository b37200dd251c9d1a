// The ε share of a layer of signed local sums, shared by the Fisher-vector and VLAD relevance
// partners (fisher_relevance.h, vlad_relevance.h hold the maths of each). Both encodings sum, per
// pyramid cell c and per component / word k, a block of terms over the local features of the cell:
// z_d = Σ_{l in c} ψ_d(l). Relevance goes back by
//   a_d = R_d s_d / (z_d + ε sign(z_d))   (sign(0) = +1),   absorbed_d = R_d ε / (|z_d| + ε),
// R_l = Σ_d a_d ψ_d(l) / s_d, with s_d the scale the encoding folded out of ψ (1 for VLAD); a block to
// which no feature of a non-empty cell contributes spreads its relevance evenly over the cell's N_c
// features, and a block of an empty cell leaves it unassigned.
#pragma once

#include <bowlrp/decompose/feature_relevance.h>

#include <cmath>
#include <cstddef>
#include <vector>

namespace bowlrp::decompose::detail {

/// Per-block bookkeeping of a local-sum layer: FeatureRelevance's R (zeros), per_word, per_cell,
/// unassigned, absorbed, and the even spread of each cell.
class LocalSumShare {
 public:
  /// A layer of `cells` x `components` blocks over `features` local features.
  LocalSumShare(std::size_t features, std::size_t components, std::size_t cells) : spread_(cells, 0.0) {
    out_.R.assign(features, 0.0);
    out_.per_word.assign(components, 0.0);
    out_.per_cell.assign(cells, 0.0);
  }
  /// Counts the relevance rk of block (c, k); false when no feature contributes to it (`used`), in
  /// which case rk goes to the cell's even spread (a cell of `cell_features` > 0) or is unassigned.
  bool block(std::size_t c, std::size_t k, double rk, bool used, std::size_t cell_features) {
    out_.per_word[k] += rk;
    out_.per_cell[c] += rk;
    if (used) return true;
    if (cell_features > 0)
      spread_[c] += rk;
    else
      out_.unassigned += rk;
    return false;
  }
  /// a_d = R_d s / (z_d + ε sign z_d), counting what ε keeps.
  double coefficient(double R, double z, double s, double eps) {
    out_.absorbed += R * eps / (std::abs(z) + eps);
    return R * s / (z + (z >= 0 ? eps : -eps));
  }
  /// r plus, one by one, the even shares feature l receives from the cells it lies in (`cells_of`:
  /// its `levels` cells; `cell_features`: N_c per cell).
  double plus_spread(double r, const int* cells_of, std::size_t levels, const std::vector<int>& cell_features) const {
    for (std::size_t lv = 0; lv < levels; ++lv) {
      const std::size_t c = static_cast<std::size_t>(cells_of[lv]);
      if (spread_[c] != 0) r += spread_[c] / static_cast<double>(cell_features[c]);
    }
    return r;
  }
  /// The relevance being built.
  FeatureRelevance& result() { return out_; }

 private:
  FeatureRelevance out_;
  std::vector<double> spread_;
};

}  // namespace bowlrp::decompose::detail
