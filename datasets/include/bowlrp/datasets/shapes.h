// Synthetic "shapes" set: textured backgrounds with one object of a few geometric classes at a
// random place and scale, with a per-image object mask. Seeded: the same options give the same
// bytes. The built-in default data of `bowlrp demo` and the ground truth of explanation tests.
//
// Every random draw (background, colours, place, scale, rotation, noise) comes from the same
// distributions whatever the class, and in the same order: only the object's outline differs
// between classes, so a classifier that separates them must look at the object's edges and
// corners, which is what a faithful explanation should then highlight. Randomness is a
// std::mt19937_64 per image with portable integer/real mappings and portable trigonometry, so
// the bytes do not depend on the standard library.
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
  double max_scale = 0.5;         ///< largest object side, same unit (at most 0.7, so it fits rotated)
  double max_rotation = 30.0;     ///< largest object rotation in degrees, either sense (0..180)
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
  double scale = 0;                   ///< object side / min(width, height)
  double center_x = 0, center_y = 0;  ///< centre of the object's square frame, in pixels
  double rotation = 0;                ///< object rotation in degrees (clockwise on screen)
};

/// Object area over side squared of each class's outline: circle pi/4, square 1, triangle 1/2
/// (base and height = side), cross 5/9 (arms one third of the side wide).
double shape_area_factor(const std::string& class_name);

/// Generates image `index` (0 .. classes*images_per_class-1) of the set; class = index % classes.
/// Validates the options; throws std::out_of_range for an index outside the set.
ShapeImage generate_shape(const ShapesOptions& options, int index);

/// Writes the set as ROOT/images/<class>/<class>_NNNN.png (a folder-per-class set) and the masks
/// as ROOT/masks/<class>/<class>_NNNN.png (255 on the object, 0 elsewhere), NNNN counting the
/// class's images from 0000; files are written atomically, existing files of the same name are
/// replaced and other files are left alone. Returns the number of images written.
int write_shapes(const ShapesOptions& options, const std::string& root);

/// Mask path of an image written by write_shapes (ROOT/images/C/F.png -> ROOT/masks/C/F.png).
std::string shape_mask_path(const std::string& image_path);

}  // namespace bowlrp::datasets
