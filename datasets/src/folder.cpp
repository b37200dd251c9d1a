#include <bowlrp/datasets/folder.h>

#include "random.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace bowlrp::datasets {

namespace fs = std::filesystem;

namespace {

bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().u8string();
  return !name.empty() && name[0] == '.';
}

bool is_directory_quiet(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);  // follows symlinks
}

bool is_regular_file_quiet(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);  // follows symlinks
}

// Entries of a folder, throwing with the folder's name when it cannot be listed.
std::vector<fs::path> list_folder(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw std::runtime_error("cannot list the image folder '" + dir.u8string() + "': " + ec.message());
  std::vector<fs::path> entries;
  for (const fs::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) break;
    entries.push_back(it->path());
  }
  if (ec) throw std::runtime_error("error while listing the image folder '" + dir.u8string() + "': " + ec.message());
  return entries;
}

}  // namespace

bool has_image_extension(const std::string& path) {
  static const std::array<const char*, 10> kExtensions = {
      ".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".pbm", ".webp"};
  std::string ext = fs::u8path(path).extension().u8string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  for (const char* e : kExtensions) {
    if (ext == e) return true;
  }
  return false;
}

FolderDataset FolderDataset::scan(const std::string& root) {
  const fs::path dir = fs::u8path(root);
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw std::runtime_error("image folder '" + root + "' does not exist");
  if (!is_directory_quiet(dir)) throw std::runtime_error("image folder '" + root + "' is not a folder");

  // Names compare byte-wise on their UTF-8 form, so the order is the same on every platform.
  std::vector<std::pair<std::string, fs::path>> class_dirs;
  for (const fs::path& p : list_folder(dir)) {
    if (!is_hidden(p) && is_directory_quiet(p)) class_dirs.emplace_back(p.filename().u8string(), p);
  }
  if (class_dirs.empty()) {
    throw std::runtime_error("image folder '" + root +
                             "' has no class sub-folder (expected ROOT/<class>/<image files>)");
  }
  std::sort(class_dirs.begin(), class_dirs.end());

  FolderDataset out;
  out.classes.reserve(class_dirs.size());
  for (std::size_t c = 0; c < class_dirs.size(); ++c) {
    std::vector<std::pair<std::string, std::string>> files;  // (file name, full path)
    for (const fs::path& p : list_folder(class_dirs[c].second)) {
      if (is_hidden(p)) continue;
      const std::string name = p.filename().u8string();
      if (!has_image_extension(name) || !is_regular_file_quiet(p)) continue;
      files.emplace_back(name, p.u8string());
    }
    if (files.empty()) {
      throw std::runtime_error("class '" + class_dirs[c].first + "' of image folder '" + root +
                               "': no image file found in '" + class_dirs[c].second.u8string() +
                               "' (expected .jpg .jpeg .png .bmp .tif .tiff .pgm .ppm .pbm .webp)");
    }
    std::sort(files.begin(), files.end());
    out.classes.push_back(class_dirs[c].first);
    for (auto& f : files) out.images.push_back({std::move(f.second), static_cast<int>(c)});
  }
  return out;
}

void FolderDataset::split(double test_fraction, std::uint64_t seed, FolderDataset* train,
                          FolderDataset* test) const {
  if (!(test_fraction > 0.0 && test_fraction < 1.0)) {
    throw std::invalid_argument("FolderDataset::split: test_fraction = " + std::to_string(test_fraction) +
                                ", expected a value strictly between 0 and 1");
  }
  if (train == nullptr || test == nullptr) {
    throw std::invalid_argument("FolderDataset::split: train and test must both be non-null");
  }
  const std::size_t n_classes = classes.size();
  std::vector<std::vector<std::size_t>> members(n_classes);
  for (std::size_t i = 0; i < images.size(); ++i) {
    const int label = images[i].label;
    if (label < 0 || static_cast<std::size_t>(label) >= n_classes) {
      throw std::invalid_argument("FolderDataset::split: image '" + images[i].path + "' has label " +
                                  std::to_string(label) + ", expected 0.." + std::to_string(n_classes) +
                                  " (exclusive)");
    }
    members[static_cast<std::size_t>(label)].push_back(i);
  }

  std::vector<char> in_test(images.size(), 0);
  for (std::size_t c = 0; c < n_classes; ++c) {
    std::vector<std::size_t>& m = members[c];
    const std::size_t n = m.size();
    if (n < 2) continue;  // a lone image trains: a class absent from training cannot be learnt
    auto n_test = static_cast<std::size_t>(std::llround(test_fraction * static_cast<double>(n)));
    n_test = std::clamp<std::size_t>(n_test, 1, n - 1);
    // One stream per class (seed mixed with the class index), so a class's split does not
    // depend on the other classes; Fisher-Yates with an exact integer mapping (detail::Rng).
    detail::Rng rng(seed, c);
    for (std::size_t i = n - 1; i > 0; --i) std::swap(m[i], m[rng.below(i + 1)]);
    for (std::size_t k = 0; k < n_test; ++k) in_test[m[k]] = 1;
  }

  FolderDataset tr, te;
  tr.classes = classes;
  te.classes = classes;
  for (std::size_t i = 0; i < images.size(); ++i) (in_test[i] ? te : tr).images.push_back(images[i]);
  *train = std::move(tr);  // assigned last, so train or test may alias *this
  *test = std::move(te);
}

}  // namespace bowlrp::datasets
