// Explaining images in batches, with the conservation verdict of every explanation.
//
// Each image is read once, encoded, scored and explained (decompose::Explainer: R_d, R_l, R_q),
// and its relevance checked layer by layer (decompose::check_conservation). The verdict:
//   - not finite: f or a total is not finite;
//   - the layers below the head must conserve to the conservation tolerance (always exact);
//   - the head layer: exact rules to the tolerance; integrated gradients and Taylor (rbf, expchi2)
//     to `residual_warning`, the relative residual |f - Σ R_d - absorbed| / max(1, |f|) above which
//     the explanation is flagged (Taylor's remainder is ~10% of |f| on real images).
//
// Training images (ExplainOptions::training_images = K > 0, kernel-SVM heads only): the decision is
// split over the support vectors, f_c(x) = b_c + Σ_i c_i with c_i = coef_ci k(s_i, Φ(x)) exactly
// (decompose/support_attribution.h), and the K largest c_i > 0 (supporting) and the K most negative
// c_i < 0 (opposing) are listed with c_i, their share c_i / f of the decision, the support index i
// and, when the model records it (Model::training_images), the training image file and whether s_i
// is its mirror. For sum-decomposable kernels (linear, hik, chi2, hellinger) each listed one also
// carries its matching map on the test image: R_{i,d} = coef_ci w_d k_d(s_id, x_d) pushed down the
// test image's trace (decompose::support_test_map; Σ = c_i, minus what the encoding's rule
// absorbs), and, when the training image's file is known and readable, the same R_{i,·} pushed down
// that file's re-encoded trace (decompose::support_pixel_maps, which checks that it still encodes to
// s_i; a mirror's map is flipped back onto the file as stored): one more image read and encoded per
// listed image. A file that cannot be read or no longer encodes to s_i costs only that map (its
// reason is kept). Linear-SVM and network heads keep no support vectors: nothing exact is offered for them,
// and asking is refused (std::invalid_argument naming the head and why) before any image is read.
// Results are handed to a callback as soon as each image is done (from worker threads, concurrently
// for different images: the sink must be thread-safe), so a batch of thousands never holds all
// relevance maps at once.
#pragma once

#include <bowlrp/bow/dsift.h>
#include <bowlrp/core/parallel.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/model/model.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bowlrp::model {

/// Options of batch explanation.
struct ExplainOptions {
  decompose::Composite composite;          ///< the rules
  std::optional<std::size_t> class_index;  ///< class to explain (empty: each image's top class)
  double residual_warning = 1e-2;          ///< rbf/expchi2: relative head residual above which an explanation is flagged
  double tolerance = 1e-9;                 ///< relative conservation tolerance of the exact layers
  int threads = 0;                         ///< worker threads (0: all cores, else 1 .. core::kMaxThreads)
  /// K: list the top K supporting and K opposing training images of each decision (kernel-SVM heads;
  /// 0: none, nothing computed)
  std::size_t training_images = 0;
  /// Throws std::invalid_argument naming the bad field, its value and what was expected.
  void validate() const;
  /// The rules' options (decompose::Composite::schema()) and residual_warning, tolerance, threads,
  /// described once; class_index is chosen by the caller (a class name, or each image's top class).
  static const core::OptionSchema<ExplainOptions>& schema();
};

/// A training image listed for a decision (ExplainOptions::training_images): support vector i.
struct ListedTrainingImage {
  std::size_t support_index = 0;         ///< i, the row of the head's support vectors (model file order)
  double contribution = 0.0;             ///< c_i = coef_ci k(s_i, Φ(x)), its exact part of f - b
  std::optional<TrainingImage> image;    ///< the training image it is (Model::training_images), when known
  decompose::PixelRelevance test_pixels;  ///< its matching map on the test image (sum-decomposable kernels; else empty)
  /// its matching map on the training image file (as stored, also for a mirror), when made: the file
  /// known, readable and still encoding to s_i; else empty
  decompose::PixelRelevance training_pixels;
  std::string training_error;  ///< why training_pixels was not made although the file is known (else empty)
};

/// One explained image.
struct ImageExplanation {
  std::size_t index = 0;                     ///< position in the batch
  std::string path;                          ///< file (empty for decoded images)
  std::string error;                         ///< non-empty when the image could not be explained (nothing else is set)
  std::vector<double> scores;                ///< f_c for every class
  decompose::Explanation explanation;        ///< R at every layer
  decompose::ConservationReport conservation;  ///< totals per layer and their status
  std::string warning;                       ///< non-empty when the verdict fails (why)
  std::size_t features = 0;                  ///< L, local features of the image
  std::vector<bow::Frame> frames;            ///< their frames (positions, supports), the order of explanation.features.R
  std::string bytes;                         ///< the file's bytes (for callers that render the image)
  std::vector<ListedTrainingImage> supporting;  ///< training_images > 0: the top c_i > 0, largest first
  std::vector<ListedTrainingImage> opposing;    ///< training_images > 0: the top c_i < 0, most negative first
  /// True when explained and conserved by the verdict.
  bool ok() const { return error.empty() && warning.empty(); }
};

/// The verdict above: empty when conserved, else why not.
std::string conservation_verdict(const decompose::ConservationReport& report, double residual_warning);

/// Receives each explanation as soon as it is done.
using ExplanationSink = std::function<void(ImageExplanation&&)>;

/// The summary of one explanation that `bowlrp explain` writes as <name>.json and Python's
/// Explanation.to_json() returns (JSON text, one-space indent, a final newline; no arrays): image
/// (plus image_hex when the path is not UTF-8, core/utf8.h), class, score, bias, the bias policy
/// applied (null for network heads), method, relevance_sum per layer, absorbed, residual, unassigned,
/// absorbed_features, encoding and its rule's fields, conserved and the per-layer verdicts, the head
/// layer's check (svm), each network layer's totals and check (network), width, height, features;
/// with options.training_images > 0 also training_images: {"k", "support_size", "maps" (whether
/// matching maps were made), "supporting" and "opposing": [{"rank" (from 1), "support_index",
/// "contribution", "share" (c_i / score; null when the score is 0), "image" (the path, or null when
/// not recorded; plus image_hex when not UTF-8), "mirrored" (null when not recorded), "training_map"
/// (whether the map on the training image was made) and "training_map_error" (why not, when its file
/// is known)}]}.
/// `options` are those the explanation was made with. Throws std::invalid_argument for a failed one.
std::string explanation_json(const Model& model, const ImageExplanation& result, const ExplainOptions& options);

/// Refuses ExplainOptions::training_images > 0 for a head without support vectors
/// (std::invalid_argument naming `what`, e.g. the flag, the head and why); nothing for K = 0.
void check_training_images(const Model& model, const ExplainOptions& options, const std::string& what);

/// Explains image files in parallel; each result goes to sink.
void explain_files(const Model& model, const std::vector<std::string>& paths, const ExplainOptions& options,
                   const ExplanationSink& sink, const core::ProgressFn& progress = {});
/// Explains decoded images in parallel; each result goes to sink.
void explain_images(const Model& model, const std::vector<bow::GrayImage>& images, const ExplainOptions& options,
                    const ExplanationSink& sink, const core::ProgressFn& progress = {});
/// Explains one decoded image (throws on error instead of setting ImageExplanation::error).
ImageExplanation explain_image(const Model& model, const bow::GrayImage& image, const ExplainOptions& options);

}  // namespace bowlrp::model
