// PASCAL VOC layout: ImageSets/Main/<set>.txt and <class>_<set>.txt (1 present, -1 absent,
// 0 difficult only), Annotations/<id>.xml boxes, SegmentationClass/<id>.png class masks
// (palette indices: 0 background, 1..20 classes in VOC order, 255 void).
#pragma once

#include <string>
#include <vector>

namespace bowlrp::datasets {

/// The 20 VOC classes in the official order (mask index = position + 1).
const std::vector<std::string>& voc_classes();

/// One annotated object.
struct VocObject {
  std::string name;                   ///< class name
  int xmin = 0, ymin = 0, xmax = 0, ymax = 0;  ///< 1-based inclusive pixel box, as in the XML
  bool difficult = false;             ///< the XML's difficult flag
};

/// One image's annotation.
struct VocAnnotation {
  std::string id;                     ///< e.g. "000005"
  int width = 0, height = 0;          ///< image size from the XML
  std::vector<VocObject> objects;     ///< in file order
};

/// A VOC image set with its official labels.
struct VocSet {
  std::string root;                   ///< .../VOC2007
  std::string name;                   ///< set name, e.g. "train"
  std::vector<std::string> classes;   ///< classes loaded (subset of voc_classes(), VOC order)
  std::vector<std::string> ids;       ///< image ids of the set, file order
  std::vector<int> labels;            ///< ids x classes row-major in {1, -1, 0}
  /// Loads ImageSets/Main/<set>.txt and <class>_<set>.txt for each class (all 20 if empty).
  /// Throws std::runtime_error naming the file for a missing or malformed list, an unknown class,
  /// or (when check_images) a listed id whose JPEGImages/<id>.jpg is missing; messages about a
  /// list line name the file and the line. An empty set name throws std::invalid_argument.
  static VocSet load(const std::string& root, const std::string& set,
                     const std::vector<std::string>& classes = {}, bool check_images = true);
  /// Path of JPEGImages/<id>.jpg.
  std::string image_path(const std::string& id) const;
  /// Label of image i for class c.
  int label(std::size_t i, std::size_t c) const { return labels[i * classes.size() + c]; }
};

/// Reads Annotations/<id>.xml; throws std::runtime_error naming the file if missing or malformed.
VocAnnotation load_voc_annotation(const std::string& root, const std::string& id);

/// Ids listed in ImageSets/Segmentation/<set>.txt (empty if the file does not exist).
std::vector<std::string> voc_segmentation_ids(const std::string& root, const std::string& set = "trainval");

/// Class mask of an image: width*height row-major palette indices; throws if the PNG is missing.
struct ClassMask {
  int width = 0, height = 0;          ///< mask size (= image size)
  std::vector<unsigned char> labels;  ///< 0 background, 1..20 class, 255 void
};
/// Reads SegmentationClass/<id>.png as palette indices (not colours), decoded with libpng; a grey
/// PNG gives its values, and an RGB one is mapped back through the VOC colour map (an unknown
/// colour throws). Throws std::runtime_error naming the file if it is missing or unreadable.
ClassMask load_voc_class_mask(const std::string& root, const std::string& id);

}  // namespace bowlrp::datasets
