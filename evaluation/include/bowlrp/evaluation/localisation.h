// Does the explanation point at the object? Localisation scores of a pixel relevance map.
//
// Region = union of ground-truth boxes, or a class mask. With R+_q = max(R_q, 0):
//   relevance share = sum_{q in region} R+_q / sum_q R+_q   (undefined when sum_q R+_q = 0)
//   area share      = |region| / |image|                  (what a uniform map would score)
// so share > area means the positive evidence concentrates on the object. Pixels marked void
// (mask value 255, the VOC object borders) are left out of every sum and count.
// Pointing game (Zhang et al. 2016, "Top-down neural attention by excitation backprop", ECCV): the
// map is smoothed by a Gaussian of `sigma` px (OpenCV, reflected border; 0 = no smoothing) so that
// one isolated extreme pixel cannot decide, its maximum is taken (ties: first in row-major order)
// and it is a hit when it lies within `tolerance` px (Euclidean, pixel centres) of a region pixel;
// Zhang et al. use a 15 px tolerance. A constant map has no maximum to point with: it counts as a
// miss and is flagged.
// VOC boxes are 1-based and inclusive: (xmin, ymin, xmax, ymax) covers the half-open 0-based
// pixels [xmin-1, xmax) x [ymin-1, ymax).
#pragma once

#include <bowlrp/bow/dsift.h>
#include <bowlrp/decompose/pixel_relevance.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::evaluation {

/// Options of the localisation scores.
struct LocalisationOptions {
  double sigma = 4.0;        ///< Gaussian smoothing of the map before the pointing game, px (0: none)
  double tolerance = 15.0;   ///< pointing-game hit radius in px (Zhang et al. 2016: 15)
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// A region of an image: per pixel 0 outside, 1 inside, 255 void (ignored).
struct RegionMask {
  int width = 0, height = 0;          ///< image size
  std::vector<unsigned char> values;  ///< width * height, row-major
};

/// Pixel box of a VOC 1-based inclusive box (clipping is done by mask_from_boxes).
bow::Box voc_box_to_pixels(int xmin, int ymin, int xmax, int ymax);
/// Union of boxes (half-open, clipped to the image) as a mask.
RegionMask mask_from_boxes(int width, int height, const std::vector<bow::Box>& boxes);
/// Mask of one class from a VOC class mask (palette indices): 1 where == label, 255 where 255.
RegionMask mask_from_labels(int width, int height, const unsigned char* labels, unsigned char label);

/// Scores of one map against one region.
struct Localisation {
  double relevance_share = 0.0;  ///< positive relevance inside / positive relevance overall (0 if undefined)
  double area_share = 0.0;       ///< region pixels / non-void pixels
  double positive_total = 0.0;   ///< sum of R+ over non-void pixels; share is undefined when 0
  bool pointing_hit = false;     ///< pointing game outcome
  bool pointing_defined = false; ///< false for a constant map (then a miss)
  int point_x = -1, point_y = -1;  ///< the smoothed map's maximum
  /// Whether relevance_share is defined.
  bool share_defined() const { return positive_total > 0.0; }
};

/// Scores a W x H map against a region of the same size; throws std::invalid_argument on a size
/// mismatch or an empty map.
Localisation localise(const double* relevance, int width, int height, const RegionMask& region,
                      const LocalisationOptions& options = {});
/// Same for a PixelRelevance.
Localisation localise(const decompose::PixelRelevance& relevance, const RegionMask& region, const LocalisationOptions& options = {});

/// Means over images: shares over the images where they are defined, hit rate over all.
struct LocalisationSummary {
  std::size_t images = 0;             ///< maps scored
  std::size_t share_images = 0;       ///< maps with positive relevance (share defined)
  double mean_relevance_share = 0.0;  ///< mean share over share_images
  double mean_area_share = 0.0;       ///< mean area share over the same images
  std::size_t hits = 0;               ///< pointing-game hits
  double pointing_accuracy = 0.0;     ///< hits / images
};
/// Summarises per-image scores (all zero for an empty list).
LocalisationSummary summarise(const std::vector<Localisation>& scores);

}  // namespace bowlrp::evaluation
