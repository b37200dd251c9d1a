#include <bowlrp/model/image_source.h>

#include <bowlrp/core/io.h>

#include <utility>

namespace bowlrp::model {

ImageSource::ImageSource(std::vector<std::string> paths) : files_(true), paths_(std::move(paths)) {}

ImageSource::ImageSource(std::vector<bow::GrayImage> images) : files_(false), images_(std::move(images)) {}

std::string ImageSource::name(std::size_t i) const {
  if (files_) return paths_[i];
  return images_[i].source.empty() ? "image-" + std::to_string(i) : images_[i].source;
}

std::optional<std::string> ImageSource::file_bytes(std::size_t i) const {
  if (!files_) return std::nullopt;
  return core::read_file(paths_[i]);
}

bow::GrayImage ImageSource::load(std::size_t i, const bow::ImageLoader& loader, const std::string* bytes) const {
  if (!files_) return images_[i];
  return bytes ? loader.decode(*bytes, paths_[i]) : loader.load(paths_[i]);
}

}  // namespace bowlrp::model
