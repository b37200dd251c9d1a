// Where a batch of images comes from: image files or decoded images, one value for either.
//
// Image i of n is
//   files:   the file paths[i], read whole (core::read_file) and decoded by a bow::ImageLoader
//            (its ImageOptions: size cap, scale), named by its path; cacheable: the feature cache
//            knows a file by its bytes (an encoding's histogram) or by the paths and sizes of all
//            files (a codebook or mixture, model/feature_cache.h);
//   decoded: images[i] as given (already capped: the loader is not applied again), named by its
//            GrayImage::source, or "image-<i>" when it has none; never cached.
// Loading throws what reading and decoding throw (std::runtime_error naming the path), so a caller
// that loads one image per task can skip and report an image, never lose the batch.
#pragma once

#include <bowlrp/bow/image.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace bowlrp::model {

/// The images of a batch: image files or decoded images (implicitly made from either vector).
class ImageSource {
 public:
  /// No images (files).
  ImageSource() = default;
  /// Image files, read and decoded when loaded; cacheable by their bytes.
  ImageSource(std::vector<std::string> paths);
  /// Decoded images (e.g. numpy arrays), used as they are; never cached.
  ImageSource(std::vector<bow::GrayImage> images);

  /// n, the number of images.
  std::size_t size() const { return files_ ? paths_.size() : images_.size(); }
  /// Whether there is no image.
  bool empty() const { return size() == 0; }
  /// Whether the images are files (and so can be cached); false for decoded images.
  bool files() const { return files_; }
  /// The image files (empty for decoded images).
  const std::vector<std::string>& paths() const { return paths_; }
  /// The decoded images (empty for files).
  const std::vector<bow::GrayImage>& decoded() const { return images_; }

  /// Image i's name in failures: its path, or a decoded image's source, or "image-<i>".
  std::string name(std::size_t i) const;
  /// Image i's file bytes, which identify it in the histogram cache (read once and passed to load);
  /// nullopt for a decoded image. Throws std::runtime_error naming the file when it cannot be read.
  std::optional<std::string> file_bytes(std::size_t i) const;
  /// Image i: a file read (or its `bytes` from file_bytes(i), when given) and decoded by `loader`,
  /// or a decoded image as it is. Throws what bow::ImageLoader::load throws (naming the path).
  bow::GrayImage load(std::size_t i, const bow::ImageLoader& loader, const std::string* bytes = nullptr) const;

 private:
  bool files_ = true;
  std::vector<std::string> paths_;
  std::vector<bow::GrayImage> images_;
};

}  // namespace bowlrp::model
