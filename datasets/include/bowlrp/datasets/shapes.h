// Synthetic "shapes" set: textured backgrounds with one object of a few geometric classes at a
// random place and scale, with a per-image object mask. Seeded: the same options give the same
// bytes. The built-in default data of `bowlrp demo` and the ground truth of explanation tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bowlrp::datasets {

/// Options of the generator.
struct ShapesOptions {
  std::vector<std::string> classes{"circle", "square", "triangle", "cross"};  ///< subset of these four
  int images_per_class = 40;      ///< images generated per class
  int width = 160, height = 160;  ///< image size in pixels
  double min_scale = 0.25;        ///< smallest object side as a fraction of min(width, height)
  double max_scale = 0.5;         ///< largest object side, same unit
  std::uint64_t seed = 0;         ///< everything random derives from it
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// One generated image in memory.
struct ShapeImage {
  std::string class_name;             ///< its class
  int width = 0, height = 0;          ///< size
  std::vector<unsigned char> bgr;     ///< width*height*3 interleaved BGR
  std::vector<unsigned char> mask;    ///< width*height, 1 on the object, 0 elsewhere
};

/// Generates image `index` (0 .. classes*images_per_class-1) of the set; class = index % classes.
ShapeImage generate_shape(const ShapesOptions& options, int index);

/// Writes the set as ROOT/images/<class>/<class>_NNNN.png (a folder-per-class set) and the masks
/// as ROOT/masks/<class>/<class>_NNNN.png (255 on the object, 0 elsewhere); files are written
/// atomically. Returns the number of images written.
int write_shapes(const ShapesOptions& options, const std::string& root);

/// Mask path of an image written by write_shapes (ROOT/images/C/F.png -> ROOT/masks/C/F.png).
std::string shape_mask_path(const std::string& image_path);

}  // namespace bowlrp::datasets
