// Artefacts: where an artefact lies on images (regions), its erasure, its direction in the encoding
// space, and the model with that direction projected out (P-ClArC; Anders et al. 2022, "Finding and
// removing Clever Hans", Information Fusion 77). The stage itself and its maths are in
// bow/artefact_projection.h, its relevance partner in decompose/projection_relevance.h; this file
// does the parts that need images and a model.
//
// A region is a union of boxes on one image, in the image file's pixels (a user's regions.json) or as
// fractions of the image's width and height (a SpRAy cluster's causal region, whose grid cells stretch
// over each image as in spray.h). A working pixel (x, y) is in the region when its centre is: for pixel
// boxes (x + 0.5) / scale_x in [bx, bx + bw) and likewise y; for relative boxes (x + 0.5) / width in
// [bx, bx + bw). Erasing pastes the pixels of evaluation's fill image (pixel_flipping.h flip_fill: the
// image's mean grey by default, as SpRAy's causal test; or blur or seeded noise) into the region.
//
// The direction (ClArC's concept activation vector, mean-difference variant): every region's image is
// encoded as it is, Φ(x_i), and erased, Φ(x̃_i); v ∝ mean Φ(x_i) - mean Φ(x̃_i), z = mean Φ(x̃_i)
// (bow::ArtefactProjection::from_encodings). Over a head that needs inputs >= 0 (χ², Hellinger,
// exp-χ²) the projection is clamped at 0 (bow::ProjectionClamp::non_negative); elsewhere it is not,
// unless asked (the intersection kernel takes negative inputs: min(s_d, Φ'_d) = Φ'_d there).
//
// A-ClArC (augmentation): the model retrained on its training set with the artefact made useless:
// the artefact, cut from the regions' images (the region's bounding box, only the region's pixels),
// is pasted into a seeded share of the training images of the other classes, at the same relative
// position (top-left corner as a fraction of the image's size, pixel size kept, clipped at the
// border), and, with erase_own, erased (as above) from the class's training images the regions name.
// erase_own is off by default: with the artefact pasted into every other image and erased from the
// class's own, it becomes evidence against the class, a Clever Hans of the opposite sign (measured in
// tests/test_evaluation_artefact.cpp); pasted alone it is in both classes and tells nothing. Which images receive a
// patch and which patch each receives are drawn from the seed (core/random.h): the same seed gives
// the same training set. The images are held decoded (about 4 bytes a working pixel).
//
// The proof that a fix held (compare_fix): the artefact measured on the model before and after, on the same
// images: the causal drop (SpRAy's causal test on the artefact's own region: f(x) - f(x̃) on the regions'
// images), the share of the class's positive relevance inside the region against the region's area share,
// the class-score rise of other-class images with the artefact pasted in (one seeded patch each, as
// artefact_effect), and accuracy / VOC2007 mAP on a labelled test set (what the fix cost).
#pragma once

#include <bowlrp/bow/artefact_projection.h>
#include <bowlrp/bow/image.h>
#include <bowlrp/core/parallel.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bowlrp::evaluation {

/// One box of a region: pixels of the image file, or fractions of its width and height (relative).
struct ArtefactBox {
  double x = 0, y = 0;           ///< top-left corner
  double width = 0, height = 0;  ///< size (> 0)
};

/// Where an artefact lies on one image.
struct ArtefactRegion {
  std::string image;               ///< the image file
  std::vector<ArtefactBox> boxes;  ///< the region: their union
  bool relative = false;           ///< boxes as fractions of the image's size (else file pixels)
  /// Whether the centre of working pixel (x, y) of `image` (as decoded by a model's loader) is in the region.
  bool contains(const bow::GrayImage& image, int x, int y) const;
};

/// Whether the centre of pixel (x, y) of a map at the file's size (width x height, e.g. an explanation's
/// pixels) is in the region.
bool region_contains_file_pixel(const ArtefactRegion& region, int width, int height, int x, int y);

/// Reads a user's regions file: a JSON array of {"image", "x", "y", "width", "height"} (file pixels;
/// entries of the same image are one region, in first-appearance order; a relative "image" is taken
/// relative to the file's folder). Throws std::runtime_error naming the file, the entry and the field.
std::vector<ArtefactRegion> read_artefact_regions(const std::string& path);

/// The regions of one SpRAy cluster from `bowlrp spray`'s spray-report.json: its causal region (grid
/// cells, relative boxes) on every member image (assignments of that cluster; paths as the report
/// gives them). Throws std::runtime_error naming the file for a cluster it does not have or a report
/// without causal regions (made with --causal-images 0).
std::vector<ArtefactRegion> spray_artefact_regions(const std::string& path, int cluster);

/// The class a SpRAy report explained (its "class"); throws std::runtime_error naming the file.
std::string spray_report_class(const std::string& path);

/// Options of the artefact direction.
struct ArtefactOptions {
  FlipFill fill = FlipFill::mean;  ///< what the erased region receives (pixel_flipping.h)
  double blur_sigma = 5.0;         ///< sigma of the blur fill (working px, > 0)
  std::uint64_t seed = 0;          ///< seed of the noise fill
  /// The projection's clamp; unset: non_negative over heads that need inputs >= 0, else none.
  std::optional<bow::ProjectionClamp> clamp;
  int threads = 0;                 ///< worker threads (0: all cores, else 1 .. core::kMaxThreads)
  /// Throws std::invalid_argument naming the bad field.
  void validate() const;
};

/// An image with its region erased (the fill's pixels pasted in; header note).
bow::GrayImage erase_region(const bow::GrayImage& image, const ArtefactRegion& region, const ArtefactOptions& options = {});

/// The encodings of the regions' images with and without the artefact.
struct ArtefactEncodings {
  std::size_t V = 0;                     ///< encoding length
  std::vector<double> with;              ///< n x V: Φ(x_i)
  std::vector<double> without;           ///< n x V: Φ(x̃_i), the same images erased
  std::vector<std::string> images;       ///< the n images encoded
  std::vector<model::Skipped> failures;  ///< regions whose image could not be read (not fatal)
  /// n.
  std::size_t size() const { return images.size(); }
};

/// Encodes every region's image as it is and erased (parallel over images); unreadable images are
/// reported in failures. Throws std::invalid_argument for bad options or a region without a box.
ArtefactEncodings artefact_encodings(const model::Model& model, const std::vector<ArtefactRegion>& regions,
                                     const ArtefactOptions& options = {}, const core::ProgressFn& progress = {});

/// The artefact's projection from the encodings (mean difference; the clamp as the options say for
/// the model's head). Throws std::invalid_argument when no image could be encoded or the erasure
/// changed no encoding.
bow::ArtefactProjection artefact_projection(const model::Model& model, const ArtefactEncodings& encodings,
                                            const ArtefactOptions& options = {});

/// P-ClArC: the model with the artefact of these regions projected out of its encodings.
model::Model project_artefact(const model::Model& model, const std::vector<ArtefactRegion>& regions,
                              const ArtefactOptions& options = {}, const core::ProgressFn& progress = {});

/// An artefact cut from one image: the working pixels of its region's bounding box.
struct ArtefactPatch {
  int width = 0, height = 0;   ///< size, working px
  std::vector<float> pixels;   ///< width x height grey values, row-major
  std::vector<char> mask;      ///< 1 where the region is (only those pixels are pasted)
  double x = 0, y = 0;         ///< top-left corner as fractions of the source image's width and height
};

/// The region of an image as a patch; throws std::invalid_argument when the region holds no working pixel.
ArtefactPatch cut_artefact(const bow::GrayImage& image, const ArtefactRegion& region);
/// The image with the patch pasted at its relative position (clipped at the border).
bow::GrayImage paste_artefact(const bow::GrayImage& image, const ArtefactPatch& patch);

/// Options of A-ClArC's augmentation.
struct AugmentOptions {
  ArtefactOptions artefact;  ///< the erasure's fill, threads
  double share = 1.0;        ///< share of the other classes' training images that receive the artefact, (0, 1]
  bool erase_own = false;    ///< also erase it from the class's training images the regions name (header note)
  std::uint64_t seed = 0;    ///< which images receive it, and which patch each
  /// Throws std::invalid_argument naming the bad field.
  void validate() const;
};

/// A-ClArC's training set: `data` decoded by the model's loader, the artefact of `regions` pasted into a
/// seeded share of the images not labelled `cls` (index into data.class_names) and, with erase_own,
/// erased from the class's images the regions name (header note); labels kept; `pasted`, if given,
/// receives the number of images that received it. Throws std::invalid_argument for a bad class,
/// no readable region image, or bad options; std::runtime_error for a training image that cannot be read.
model::LabelledImages augment_artefact(const model::Model& model, const model::LabelledImages& data, std::size_t cls,
                                       const std::vector<ArtefactRegion>& regions, const AugmentOptions& options = {},
                                       std::size_t* pasted = nullptr);

/// A-ClArC: the model refitted (model::FitOptions::from_model, `threads` from the options) on the
/// augmented set of the class called `class_name`.
model::Model augment_and_refit(const model::Model& model, const model::LabelledImages& data, const std::string& class_name,
                               const std::vector<ArtefactRegion>& regions, const AugmentOptions& options = {},
                               const core::ProgressFn& progress = {});

/// What an artefact does to one model (compare_fix measures two, with the causal drop and the test set).
struct ArtefactEffect {
  std::size_t pasted_images = 0;  ///< images of other classes the artefact was pasted into
  double pasted_rise = 0;         ///< mean f_cls(x with the artefact pasted) - f_cls(x) over them
  std::size_t region_images = 0;  ///< artefact images explained
  double relevance_share = 0;     ///< mean share of the positive relevance of cls inside the region
  double area_share = 0;          ///< mean share of the image's pixels inside the region
  std::vector<model::Skipped> failures;  ///< images that could not be read (left out)
};

/// The artefact's effect on class cls: pasted (a seeded patch of `regions` each) into `others` (images
/// of other classes) and as explained on the regions' own images. Throws std::invalid_argument for a
/// bad class or no patch.
ArtefactEffect artefact_effect(const model::Model& model, std::size_t cls, const std::vector<ArtefactRegion>& regions,
                               const std::vector<std::string>& others, std::uint64_t seed = 0, int threads = 0);

/// Options of the before/after comparison of a fix (compare_fix).
struct FixComparisonOptions {
  ArtefactOptions artefact;  ///< the erasure of the causal test (fill, blur, seed) and the worker threads
  std::uint64_t seed = 0;    ///< which patch each other-class image receives (as artefact_effect)
  /// Throws std::invalid_argument naming the bad field.
  void validate() const;
};

/// One model's numbers in a before/after comparison; per-image vectors are in the comparison's image
/// order (NaN where the image was left out), means over the images every model could read.
struct FixNumbers {
  std::vector<double> region_scores;    ///< f_cls(x_i) on each region's image
  std::vector<double> erased_scores;    ///< f_cls(x̃_i), the same image with its region erased
  std::vector<double> relevance_shares; ///< share of the positive relevance of cls inside the region, per region image
  double causal_drop = 0;               ///< mean f_cls(x_i) - f_cls(x̃_i) (SpRAy's causal test on the region)
  double relevance_share = 0;           ///< mean of relevance_shares
  std::vector<double> other_scores;     ///< f_cls(x) on each other-class image
  std::vector<double> pasted_scores;    ///< f_cls(x with the artefact pasted in)
  double pasted_rise = 0;               ///< mean pasted - other score
  std::vector<std::vector<double>> test_scores;  ///< test image x class scores (the test set's classes, in its order)
  double accuracy = 0;                  ///< top-1 over the test set (NaN for a multi-label or empty set)
  std::vector<double> ap;               ///< VOC2007 11-point AP per test class (NaN for a class without positives)
  double mean_ap = 0;                   ///< mean of the APs of classes with positives (NaN when none has)
};

/// The proof that a fix held: one artefact measured on the model before and after the fix.
struct FixComparison {
  std::size_t cls = 0;                       ///< the artefact's class (index of both models)
  std::vector<std::string> region_images;    ///< the regions' images
  std::vector<double> area_shares;           ///< share of each region image's pixels inside its region
  double area_share = 0;                     ///< their mean (what relevance_share is to be read against)
  std::vector<std::string> others;           ///< the other-class images the artefact is pasted into
  std::vector<std::size_t> other_patch;      ///< index into regions of the patch each other image receives
  std::vector<std::string> test_images;      ///< the test set's images (names)
  std::vector<std::string> test_classes;     ///< its classes
  std::size_t region_used = 0, others_used = 0, test_used = 0;  ///< images in the means (readable by both)
  FixNumbers before, after;                  ///< the numbers of each model
  std::vector<model::Skipped> failures;      ///< images left out, with the reason
};

/// Measures the artefact of `regions` (class cls) on `before` and `after`: the causal drop and the
/// relevance share on the regions' images, the pasted-score rise on `others` (a seeded patch each, as
/// artefact_effect), accuracy and mAP on `test` (may be empty; its class names must be classes of both
/// models). An image unreadable for either model is left out of both models' means. Throws
/// std::invalid_argument for a bad class, models with other classes, a test class the models lack, bad
/// options, or no patch.
FixComparison compare_fix(const model::Model& before, const model::Model& after, std::size_t cls,
                          const std::vector<ArtefactRegion>& regions, const std::vector<std::string>& others,
                          const model::LabelledImages& test, const FixComparisonOptions& options = {},
                          const core::ProgressFn& progress = {});

}  // namespace bowlrp::evaluation
