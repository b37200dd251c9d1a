// Robustness of explanations: how much a method's map moves under changes of the input that should
// not matter (Quantus' robustness and axiomatic groups).
//
// For an image x (working pixels in [0, 1]) and a method's map E(x) (original size, row-major), with
// ||.|| the Euclidean norm over all pixels:
//   max-sensitivity   (Yeh et al. 2019, "On the (in)fidelity and sensitivity of explanations",
//                     NeurIPS; Quantus MaxSensitivity)  max_i ||E(x_i) - E(x)|| / ||E(x)||,
//   local Lipschitz   (Alvarez-Melis & Jaakkola 2018, "On the robustness of interpretability
//                     methods"; Quantus LocalLipschitzEstimate)  max_i ||E(x_i) - E(x)|| / ||x_i - x||,
//   over N perturbed images x_i = clip(x + δ_i, 0, 1), δ_i uniform in [-noise, noise] per working
//   pixel (sample i drawn row-major from std::mt19937_64(mix_seed(derived_seed(seed, i))) as
//   (engine() >> 11) * 2^-53, so every platform draws the same values; ||x_i - x|| is taken after
//   clipping, over working pixels). Lower = more robust. A zero map E(x) gives max-sensitivity 0 if
//   every E(x_i) is zero too, else +inf; a sample with x_i = x (noise too small to change a float)
//   is left out of the Lipschitz maximum.
//   mirror stability  the model's own invariance: models trained with mirrored copies score a
//                     left-right mirrored image almost as the image. With m(.) the mirror
//                     (bow::mirror_left_right for images, mirrored_map for maps), E' =
//                     m(E(m(x))) (the mirror's map mirrored back):
//                     "mirror_spearman" = Spearman(|E(x)|, |E'|) (randomisation.h), higher = stabler;
//                     "mirror_difference" = ||E' - E(x)|| / ||E(x)||, lower = stabler.
//   input invariance  (Kindermans et al. 2019, "The (un)reliability of saliency methods"): dense SIFT
//                     reads gradients only, so adding a constant c to every pixel (not clipped) leaves
//                     every descriptor, hence f, unchanged up to float rounding; a method that keeps
//                     this promise gives the same map. "shift_difference" = ||E(x + c) - E(x)|| /
//                     ||E(x)||, ideally 0 (rounding can move a descriptor across a word boundary of a
//                     hard assignment: then a few features' relevance moves with it). LRP and
//                     sensitivity keep it; occlusion does not: its fill (the flipping noise in [0, 1))
//                     is not shifted with the image, so the patches' drops change (Kindermans et al.'s
//                     point about reference values).
// The maps are those of method_maps (randomisation.h): LRP with the options' rules, sensitivity and
// occlusion, each recomputed on every changed image.
#pragma once

#include <bowlrp/bow/image.h>
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/model/model.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bowlrp::evaluation {

/// Options of the robustness measurements.
struct RobustnessOptions {
  int samples = 5;         ///< N perturbed images (>= 1)
  double noise = 0.02;     ///< half width of the uniform per-pixel noise (> 0, <= 1)
  double shift = 0.1;      ///< constant c added for the input-invariance check (finite, != 0)
  std::uint64_t seed = 0;  ///< seeds the noise
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// Per metric ("max_sensitivity", "local_lipschitz", "mirror_spearman", "mirror_difference",
/// "shift_difference"), per method: the value on one image.
using RobustnessResult = std::map<std::string, std::map<std::string, double>>;

/// A W x H row-major map left-right mirrored.
std::vector<double> mirrored_map(const std::vector<double>& map, int width, int height);
/// x_i of the header note: clip(x + δ_i, 0, 1) with the seeded uniform noise of sample i.
bow::GrayImage perturbed(const bow::GrayImage& image, double noise, std::uint64_t seed, std::size_t sample);

/// The robustness metrics of class cls on one image, given the original model's method_maps.
RobustnessResult robustness(const model::Model& model, const bow::GrayImage& image, std::size_t cls,
                            const QualityOptions& quality, const RobustnessOptions& options,
                            const std::map<std::string, std::vector<double>>& original);

}  // namespace bowlrp::evaluation
