// Folder-per-class image sets: ROOT/<class>/*.{jpg,jpeg,png,bmp,tif,tiff,pgm,ppm,webp}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bowlrp::datasets {

/// One labelled image.
struct LabelledImage {
  std::string path;  ///< file path
  int label = 0;     ///< index into FolderDataset::classes
};

/// A folder-per-class image set, classes and files in sorted order.
struct FolderDataset {
  std::vector<std::string> classes;   ///< sub-folder names, sorted
  std::vector<LabelledImage> images;  ///< sorted by class then file name
  /// Lists ROOT. Throws std::runtime_error naming the folder if ROOT is missing, has no class
  /// sub-folder, or a class folder has no image file; files of other extensions are ignored.
  static FolderDataset scan(const std::string& root);
  /// Seeded split: per class, a fraction test_fraction (rounded, at least one image on each side
  /// when the class has two or more) goes to the test part; deterministic for a given seed.
  void split(double test_fraction, std::uint64_t seed, FolderDataset* train, FolderDataset* test) const;
};

/// Whether the file name has an image extension the folder loader accepts (case-insensitive).
bool has_image_extension(const std::string& path);

}  // namespace bowlrp::datasets
