// Pixel flipping: how fast does the score fall when the most relevant regions are destroyed?
//
// MoRF perturbation and AOPC of Samek et al. 2017 ("Evaluating the visualization of what a deep
// neural network has learned", IEEE TNNLS 28(11)). The WORKING image (bow::GrayImage pixels, after
// the size cap) is cut into a grid of square regions of `region_size` px (the last row/column of
// regions is clipped at the border). A relevance map of any size W x H (normally the original
// image size) is summed into the grid by sending each map pixel to the working pixel holding its
// centre, wx = floor((x + 0.5) * width / W) (likewise y), so that maps at the original or the
// working resolution both work. Regions are then flipped most relevant first (ties: lower region
// index first): step k replaces the pixels of the next `regions_per_step` regions by uniform noise
// in [0, 1) and re-runs the classifier, giving x^0 (the original), x^1, .., x^L and
//   AOPC = 1/(L+1) sum_{k=0..L} (f(x^0) - f(x^k)),
// averaged over images (the mean of per-image AOPCs equals the AOPC of the mean curve). A large
// AOPC means the order found the evidence. The same order drawn at random (several seeds, curves
// averaged) is the reference; other explainers (occlusion, sensitivity...) enter as further maps.
// What a flipped region receives (`fill`; region perturbation, Samek et al. 2017): `noise`, the
// seeded uniform noise image (the default, described above); `mean`, the image's mean grey (sum of
// the working pixels in row-major order / their count); `blur`, the image blurred by a Gaussian of
// `blur_sigma` px (OpenCV GaussianBlur, kernel side 2 ceil(3 sigma) + 1, reflected border), which
// removes the fine gradients dense SIFT reads while keeping the coarse shading. The fill image is
// made once per image (flip_fill) and both the full and the incremental path paste it.
// With `lerf`, each map is also flipped least relevant first (LeRF: increasing summed relevance,
// ties by increasing index; curve "<name>_lerf"): a faithful map keeps the score up there, and the
// area between the LeRF and MoRF curves (map_metrics.h, lerf_morf_area over flip_fractions) is large.
// The noise is one fixed image per (seed, size), drawn row-major from a seeded std::mt19937_64, so
// every order, and both the full and the incremental path, paste exactly the same values. When all
// regions are flipped before step L, later steps repeat the last score (nothing is left to flip),
// so every curve has L+1 values and curves of different images can be averaged.
//
// Two ways to re-run the classifier: any callback on the perturbed image (full re-run), or the
// incremental path that re-extracts only the descriptors whose support meets a flipped region
// (DenseSift::extract_region) and updates the encoding: for Bag-of-Words it re-maps them, updates
// the assignment and re-pools (identical scores to the full re-run: same descriptors bit for bit);
// for Fisher vectors it recomputes their local descriptors and posteriors and re-runs the Fisher
// sums (equal to the full re-run up to the float rounding of the SGEMMs, whose blocking differs).
// Either way the head (kernel or linear SVM) scores the new vector. The incremental one is much faster.
#pragma once

#include <bowlrp/bow/dsift.h>
#include <bowlrp/bow/image.h>
#include <bowlrp/bow/fisher.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/bow/trace.h>
#include <bowlrp/decompose/head.h>
#include <bowlrp/model/model.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace bowlrp::evaluation {

/// What a flipped region is replaced by.
enum class FlipFill { noise, mean, blur };
/// "noise", "mean", "blur".
std::string to_string(FlipFill fill);
/// Parses the names above; throws std::invalid_argument listing them.
FlipFill flip_fill_from_string(const std::string& name);

/// Options of pixel flipping.
struct PixelFlipOptions {
  int region_size = 9;       ///< side of a square region, working px (Samek et al.: 9)
  int steps = 100;           ///< L, perturbation steps after the original image (Samek et al.: 100)
  int regions_per_step = 1;  ///< regions replaced by noise at each step
  int random_orders = 3;     ///< random orders averaged into the "random" curve (0: none)
  std::uint64_t seed = 0;    ///< seeds the noise image and the random orders
  bool lerf = false;         ///< also flip each map least relevant first (curve "<name>_lerf")
  FlipFill fill = FlipFill::noise;  ///< what a flipped region receives (header note)
  double blur_sigma = 5.0;   ///< Gaussian sigma of the blur fill, working px (> 0)
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// The grid of square regions on a working image.
class RegionGrid {
 public:
  /// Grid over a width x height working image; throws std::invalid_argument for sizes < 1.
  RegionGrid(int width, int height, int region_size);
  /// Number of regions.
  int size() const { return cols_ * rows_; }
  /// Regions across.
  int cols() const { return cols_; }
  /// Regions down.
  int rows() const { return rows_; }
  /// Pixel box of region r (row-major numbering), working px, half-open, clipped to the image.
  bow::Box box(int r) const;
  /// Sum of a W x H row-major relevance map over each region (map pixel centres sent to working
  /// pixels as in the header note); throws std::invalid_argument for an empty map.
  std::vector<double> aggregate(const double* relevance, int map_width, int map_height) const;

 private:
  int width_, height_, size_, cols_, rows_;
};

/// Regions by decreasing summed relevance (MoRF), ties by increasing index.
std::vector<int> relevance_order(const std::vector<double>& region_relevance);
/// Regions by increasing summed relevance (LeRF), ties by increasing index.
std::vector<int> least_relevant_order(const std::vector<double>& region_relevance);
/// Share of the grid's regions flipped after each step k = 0 .. L: min(1, k * regions_per_step / regions).
std::vector<double> flip_fractions(int regions, const PixelFlipOptions& options);
/// A seeded uniformly random permutation of 0 .. regions-1 (portable: own integer mapping).
std::vector<int> random_order(int regions, std::uint64_t seed);
/// The noise image: width * height values uniform in [0, 1), row-major, from the seed.
std::vector<float> flip_noise(int width, int height, std::uint64_t seed);
/// The fill image of an image under the options (noise, mean grey or blur; header note), working size.
std::vector<float> flip_fill(const bow::GrayImage& image, const PixelFlipOptions& options);

/// 1/(L+1) sum_k (f_0 - f_k) of a curve f_0 .. f_L; throws std::invalid_argument if empty.
double aopc(const std::vector<double>& curve);

/// A classifier score of a whole image; must be thread-safe (called concurrently).
using ImageScore = std::function<double(const bow::GrayImage&)>;

/// Full re-run: perturbs the image along `order` and calls score on x^0 .. x^L (L+1 values).
/// Throws std::invalid_argument for a region index outside the grid.
std::vector<double> flip_curve(const bow::GrayImage& image, const std::vector<int>& order,
                               const PixelFlipOptions& options, const ImageScore& score);

/// Incremental re-run for an encoding and a one-vs-rest head; immutable and thread-safe.
class IncrementalFlipper {
 public:
  /// Shares the pipeline and model; throws std::invalid_argument if either is null, the model's
  /// dimension differs from the pipeline's or cls is out of range.
  IncrementalFlipper(std::shared_ptr<const bow::Pipeline> pipeline, std::shared_ptr<const svm::KernelSvm> model,
                     std::size_t cls);
  /// Any encoding and head (same refusals).
  IncrementalFlipper(model::Encoding encoding, decompose::Head head, std::size_t cls);
  /// The encoding and head of a model (shared, nothing copied), and its artefact projection if it has one.
  IncrementalFlipper(const model::Model& model, std::size_t cls);
  /// Same curve as flip_curve with score = f_cls(encoding.encode(image)), given the trace of
  /// encoding.encode(image) (a bow::Trace or one of its alternatives); throws std::invalid_argument
  /// if the trace does not fit the image or was made by another pipeline.
  template <class T>
  std::vector<double> flip_curve(const bow::GrayImage& image, const T& trace, const std::vector<int>& order,
                                 const PixelFlipOptions& options) const;
  /// f_cls of a histogram (projected first when the flipper was made from a model with an artefact projection).
  double score(const std::vector<double>& histogram) const;

 private:
  // The curve of a checked trace of the flipper's own encoding kind: the encoding's incremental
  // update where it has one (Bag-of-Words: re-map and re-pool the changed features; any stage with
  // replace_features(trace, features, indices), e.g. Fisher vectors and VLAD: replace the changed
  // features' terms), else a full re-encoding of each perturbed image, which gives the same curve at
  // the cost of flip_curve's.
  std::vector<double> steps(const bow::Pipeline& pipeline, const bow::GrayImage& image, const bow::EncodeTrace& trace,
                            const std::vector<int>& order, const PixelFlipOptions& options) const;
  template <class Stage>
  std::vector<double> steps(const Stage& stage, const bow::GrayImage& image, const bow::TraceOf<Stage>& trace,
                            const std::vector<int>& order, const PixelFlipOptions& options) const {
    if constexpr (has_replace_features<Stage>::value) {
      bow::TraceOf<Stage> t = trace;
      return replace_steps(image, stage.sift(), score(trace.histogram()), order, options,
                           [&](const bow::FeatureTrace& fresh, const std::vector<std::size_t>& all) {
                             if (!all.empty()) stage.replace_features(t, fresh, all);
                             return score(t.histogram());
                           });
    } else {
      return evaluation::flip_curve(image, order, options,
                                    [&](const bow::GrayImage& x) { return score(stage.encode(x).histogram()); });
    }
  }
  // The MoRF steps of a stage that replaces features: replace(fresh, indices) swaps the features
  // the step's regions reach and returns f(x^k).
  std::vector<double> replace_steps(
      const bow::GrayImage& image, const bow::DenseSift& sift, double f0, const std::vector<int>& order,
      const PixelFlipOptions& options,
      const std::function<double(const bow::FeatureTrace&, const std::vector<std::size_t>&)>& replace) const;
  template <class Stage, class = void>
  struct has_replace_features : std::false_type {};
  template <class Stage>
  struct has_replace_features<
      Stage, std::void_t<decltype(std::declval<const Stage&>().replace_features(
                 std::declval<bow::TraceOf<Stage>&>(), std::declval<const bow::FeatureTrace&>(),
                 std::declval<const std::vector<std::size_t>&>()))>> : std::true_type {};
  void check_trace(const bow::GrayImage& image, const bow::FeatureTrace& f, std::size_t dim,
                   const core::Digest& made_by) const;
  model::Encoding encoding_;
  decompose::Head head_;
  std::size_t cls_;
  std::shared_ptr<const bow::ArtefactProjection> projection_;  // the model's artefact projection; null: none
};

template <class T>
std::vector<double> IncrementalFlipper::flip_curve(const bow::GrayImage& image, const T& trace,
                                                   const std::vector<int>& order,
                                                   const PixelFlipOptions& options) const {
  if constexpr (std::is_same_v<T, bow::Trace>) {
    return std::visit([&](const auto& t) { return flip_curve(image, t, order, options); }, trace);
  } else {
    options.validate();
    return std::visit(
        [&](const auto& stage) -> std::vector<double> {
          using Stage = std::remove_const_t<typename std::decay_t<decltype(stage)>::element_type>;
          if constexpr (std::is_same_v<bow::TraceOf<Stage>, T>) {
            check_trace(image, trace.features, trace.histogram().size(), trace.pipeline);
            return steps(*stage, image, trace, order, options);
          } else {
            throw std::invalid_argument(
                "IncrementalFlipper::flip_curve: the trace was made by another kind of encoding than the flipper's");
          }
        },
        encoding_);
  }
}

/// A relevance map to be evaluated, not owned (must outlive the call).
struct FlipMethod {
  std::string name;                ///< curve name, e.g. "lrp"; not "random" nor ending in "_lerf"
  int width = 0, height = 0;       ///< map size (original or working resolution)
  const double* relevance = nullptr;  ///< width * height row-major values
};

/// Curves of one image: one per method, "<method>_lerf" per method with options.lerf, and "random"
/// (mean over the random orders).
using FlipCurves = std::map<std::string, std::vector<double>>;

/// Incremental evaluation of every method and the random orders on one image; the curves run in
/// parallel (TBB) and the result does not depend on the thread count.
FlipCurves pixel_flip(const IncrementalFlipper& flipper, const bow::GrayImage& image, const bow::EncodeTrace& trace,
                      const std::vector<FlipMethod>& methods, const PixelFlipOptions& options);
/// Same for either kind of trace.
FlipCurves pixel_flip(const IncrementalFlipper& flipper, const bow::GrayImage& image, const bow::Trace& trace,
                      const std::vector<FlipMethod>& methods, const PixelFlipOptions& options);
/// Same with full re-runs through a callback.
FlipCurves pixel_flip(const ImageScore& score, const bow::GrayImage& image, const std::vector<FlipMethod>& methods,
                      const PixelFlipOptions& options);

/// Mean curves over images; AOPC of the mean curve = mean of the per-image AOPCs.
class FlipSummary {
 public:
  /// Adds one image's curves; throws std::invalid_argument if a curve's length differs from
  /// earlier ones of the same name.
  void add(const FlipCurves& curves);
  /// Names seen, sorted.
  std::vector<std::string> names() const;
  /// Images added under a name (0 if unknown).
  std::size_t count(const std::string& name) const;
  /// Mean curve of a name; throws std::invalid_argument listing the known names.
  std::vector<double> mean_curve(const std::string& name) const;
  /// AOPC of the mean curve of a name.
  double aopc(const std::string& name) const { return evaluation::aopc(mean_curve(name)); }

 private:
  std::map<std::string, std::pair<std::vector<double>, std::size_t>> sums_;
};

}  // namespace bowlrp::evaluation
