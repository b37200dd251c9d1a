// Artefact projection (P-ClArC; Anders, Weber, Neumann, Samek, Müller, Lapuschkin 2022, "Finding and
// removing Clever Hans: using explanation methods to debug and improve deep models", Information
// Fusion 77): an affine stage between an encoding and its head that projects one direction, the
// artefact's, out of every encoding.
//
// The direction is ClArC's concept activation vector in its mean-difference variant: with Φ(x_i) the
// encodings of n images carrying the artefact and Φ(x̃_i) those of the same images with the artefact
// erased (or any two sets: with and without),
//   d = mean_i Φ(x_i) - mean_j Φ(x̃_j),   v = d / ||d||,   z = mean_j Φ(x̃_j)   (the reference point).
// The stage maps Φ in R^V to
//   Φ' = Φ - v vᵀ(Φ - z) = P Φ + c,   P = I - v vᵀ,   c = v (vᵀz),
// so the artefact's coordinate t = vᵀ(Φ - z) is set to that of the reference and every direction
// orthogonal to v is kept. P is never formed: one dot product and one axpy, O(V) per image.
//
// Heads over non-negative inputs (kernels χ², Hellinger, exp-χ²: sums of Φ_d, square roots) cannot
// take a Φ' with negative entries, which the projection makes wherever v_k t > Φ_k. With
// clamp = non_negative the stage outputs Φ'' = max(Φ', 0) instead; the clamped entries' relevance is
// what the clamp absorbs (decompose/projection_relevance.h). With the sum-decomposable kernels it is
// 0 (k_d(s_d, 0) = 0), so the clamp costs nothing in conservation there.
//
// The stage is immutable; project() returns its trace (the input's artefact coordinate t, the output
// and which entries were clamped), which is all its relevance partner reads.
#pragma once

#include <bowlrp/core/digest.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::bow {

/// Whether a projection keeps its output non-negative.
enum class ProjectionClamp { none, non_negative };
/// "none" or "non-negative".
std::string to_string(ProjectionClamp clamp);
/// Parses "none" or "non-negative"; throws std::invalid_argument naming them.
ProjectionClamp projection_clamp_from_string(const std::string& name);

/// The forward record of one encoding through an ArtefactProjection.
struct ProjectionTrace {
  std::vector<double> input;    ///< Φ (V values)
  double t = 0.0;               ///< vᵀ(Φ - z), the artefact coordinate removed
  std::vector<double> output;   ///< Φ' (or max(Φ', 0) with the clamp), the head input
  std::vector<char> clamped;    ///< 1 where the clamp set a negative Φ'_k to 0 (empty without clamp)
};

/// Φ -> Φ' = Φ - v vᵀ(Φ - z) (header note): an immutable affine stage, O(V) per encoding.
class ArtefactProjection {
 public:
  /// A projection along `direction` (normalised here; not all zero, finite) through `reference`
  /// (the same length, finite); throws std::invalid_argument naming what is wrong.
  ArtefactProjection(std::vector<double> direction, std::vector<double> reference,
                     ProjectionClamp clamp = ProjectionClamp::none);
  /// The mean-difference direction of n_with encodings with the artefact and n_without without it
  /// (row-major, V values each): v ∝ mean(with) - mean(without), z = mean(without). Throws
  /// std::invalid_argument for an empty set, V = 0, non-finite values or equal means.
  static ArtefactProjection from_encodings(const double* with, std::size_t n_with, const double* without,
                                           std::size_t n_without, std::size_t V,
                                           ProjectionClamp clamp = ProjectionClamp::none);
  /// V.
  std::size_t dimension() const { return v_.size(); }
  /// v, of unit length.
  const std::vector<double>& direction() const { return v_; }
  /// z, the reference point.
  const std::vector<double>& reference() const { return z_; }
  /// vᵀz, the artefact coordinate of the reference (the bias c = v vᵀz is v times it).
  double offset() const { return offset_; }
  /// The clamp of the output.
  ProjectionClamp clamp() const { return clamp_; }
  /// The same projection with another clamp.
  ArtefactProjection with_clamp(ProjectionClamp clamp) const;
  /// vᵀ(Φ - z) of one encoding (V values).
  double coordinate(const double* phi) const;
  /// Φ' of one encoding into out (V values each; out may equal phi).
  void project(const double* phi, double* out) const;
  /// The trace of one encoding (V values).
  ProjectionTrace trace(const double* phi) const;
  /// Φ' of n encodings (n x V row-major).
  std::vector<double> project_batch(const double* X, std::size_t n) const;
  /// Pᵀ g = g - v (vᵀg): a gradient with respect to Φ' taken back to Φ (the clamped entries of a
  /// trace's output pass no gradient).
  std::vector<double> pull_back(const std::vector<double>& g, const ProjectionTrace& trace) const;
  /// Digest of v, z and the clamp.
  core::Digest fingerprint() const;

 private:
  std::vector<double> v_, z_;
  double offset_ = 0.0;
  ProjectionClamp clamp_ = ProjectionClamp::none;
};

}  // namespace bowlrp::bow
