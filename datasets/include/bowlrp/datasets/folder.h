// Folder-per-class image sets: ROOT/<class>/*.{jpg,jpeg,png,bmp,tif,tiff,pgm,ppm,pbm,webp}.
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
  /// Lists ROOT (UTF-8 path). Class folders and files are sorted byte-wise on their UTF-8 names;
  /// hidden entries (leading '.'), files at the top level, files of other extensions and nested
  /// folders are ignored; symbolic links are followed. Throws std::runtime_error naming the folder
  /// if ROOT is missing, has no class sub-folder, or a class folder has no image file.
  static FolderDataset scan(const std::string& root);
  /// Seeded split: per class, round(test_fraction * n) images (clamped to 1 .. n-1 when n >= 2; a
  /// lone image goes to train) chosen by a seeded shuffle go to the test part. Each class has its
  /// own stream of the seed, so its split does not depend on the other classes; both parts keep
  /// this set's order and classes, and may alias *this. Deterministic on every platform.
  /// Throws std::invalid_argument unless 0 < test_fraction < 1 and both outputs are non-null.
  void split(double test_fraction, std::uint64_t seed, FolderDataset* train, FolderDataset* test) const;
};

/// Whether the file name has an image extension the folder loader accepts (case-insensitive).
bool has_image_extension(const std::string& path);

}  // namespace bowlrp::datasets
