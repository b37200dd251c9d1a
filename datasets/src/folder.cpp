#include <bowlrp/datasets/folder.h>

#include "random.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <map>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace bowlrp::datasets {

namespace fs = std::filesystem;

namespace {

constexpr const char* kExtensionList = ".jpg .jpeg .png .bmp .tif .tiff .pgm .ppm .pbm .webp";

bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().u8string();
  return !name.empty() && name[0] == '.';
}

std::string type_name(fs::file_type t) {
  switch (t) {
    case fs::file_type::fifo: return "a named pipe";
    case fs::file_type::socket: return "a socket";
    case fs::file_type::block: return "a block device";
    case fs::file_type::character: return "a character device";
    default: return "of an unknown type";
  }
}

// What an entry is, following a link; `error` says why that cannot be known.
struct Entry {
  fs::file_type type = fs::file_type::none;
  bool link = false;
  std::string error;
};

Entry inspect(const fs::path& p) {
  std::error_code ec;
  const fs::file_status own = fs::symlink_status(p, ec);
  if (ec || own.type() == fs::file_type::not_found) {
    if (own.type() == fs::file_type::not_found) return {fs::file_type::none, false, "does not exist"};
    return {fs::file_type::none, false, "cannot read its status: " + ec.message()};
  }
  if (!fs::is_symlink(own)) return {own.type(), false, {}};
  const fs::file_status target = fs::status(p, ec);
  if (!ec && target.type() != fs::file_type::not_found) return {target.type(), true, {}};
  std::error_code ec_link;
  const fs::path to = fs::read_symlink(p, ec_link);
  const std::string where = ec_link ? std::string() : " to '" + to.u8string() + "'";
  if (target.type() == fs::file_type::not_found) return {fs::file_type::none, true, "dangling symbolic link" + where};
  return {fs::file_type::none, true, "cannot follow the symbolic link" + where + ": " + ec.message()};
}

// Entries of a folder in byte-wise order of their names. `error` is set when the folder cannot be
// opened or its listing breaks off; the entries read before the break are kept.
std::vector<fs::path> list_folder(const fs::path& dir, std::string* error) {
  std::vector<fs::path> entries;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    *error = "cannot list the folder: " + ec.message();
    return entries;
  }
  for (const fs::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) break;
    entries.push_back(it->path());
  }
  // A failed increment leaves the iterator at its end, so the loop exits with ec set.
  if (ec) *error = "listing of the folder broke off: " + ec.message();
  std::sort(entries.begin(), entries.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().native() < b.filename().native(); });
  return entries;
}

// Entries of a folder the caller cannot do without: throws, `context` naming the folder.
std::vector<fs::path> list_folder_or_throw(const fs::path& dir, const std::string& context) {
  std::string error;
  std::vector<fs::path> entries = list_folder(dir, &error);
  if (!error.empty()) throw std::runtime_error(context + ": " + error);
  return entries;
}

void sort_problems(std::vector<WalkProblem>* problems) {
  std::stable_sort(problems->begin(), problems->end(),
                   [](const WalkProblem& a, const WalkProblem& b) { return a.path < b.path; });
}

// The recursive walk of one folder given on the command line (see the note in folder.h).
void walk_folder(const std::string& given, ImageWalk* out) {
  const fs::path root = fs::u8path(given);
  std::vector<std::string> files;
  std::vector<WalkProblem> problems;
  std::set<fs::path> listed;  // canonical paths of the folders listed (or queued) so far
  std::error_code ec;
  const fs::path canonical_root = fs::canonical(root, ec);
  if (ec) {
    out->problems.push_back({given, "cannot resolve the folder: " + ec.message()});
    return;
  }
  listed.insert(canonical_root);
  // Real sub-folders are listed breadth-first in name order, all before the next folder link is
  // followed (links in the order they were met), so a folder reachable by several routes is named
  // by its link-free path when it has one, else by the first link met.
  std::deque<fs::path> folders{root};
  std::deque<fs::path> links;
  while (!folders.empty() || !links.empty()) {
    fs::path dir;
    if (!folders.empty()) {
      dir = std::move(folders.front());
      folders.pop_front();
    } else {
      dir = std::move(links.front());
      links.pop_front();
      const fs::path target = fs::canonical(dir, ec);
      if (ec) {
        problems.push_back({dir.u8string(), "cannot resolve the folder link: " + ec.message()});
        continue;
      }
      if (!listed.insert(target).second) continue;  // a loop, or a second route to a listed folder
    }
    std::string error;
    for (const fs::path& p : list_folder(dir, &error)) {
      if (is_hidden(p)) continue;
      const Entry e = inspect(p);
      if (!e.error.empty()) {
        problems.push_back({p.u8string(), e.error});
      } else if (e.type == fs::file_type::directory) {
        if (e.link) {
          links.push_back(p);
          continue;
        }
        const fs::path target = fs::canonical(p, ec);
        if (ec)
          problems.push_back({p.u8string(), "cannot resolve the folder: " + ec.message()});
        else if (listed.insert(target).second)
          folders.push_back(p);
      } else if (has_image_extension(p.filename().u8string())) {
        if (e.type == fs::file_type::regular)
          files.push_back(p.u8string());
        else
          problems.push_back({p.u8string(), "not a regular file (" + type_name(e.type) + ")"});
      }
    }
    if (!error.empty()) problems.push_back({dir.u8string(), error});
  }
  std::sort(files.begin(), files.end());
  sort_problems(&problems);
  if (files.empty())
    problems.push_back({given, std::string("no image file found in the folder (expected ") + kExtensionList + ")"});
  out->files.insert(out->files.end(), files.begin(), files.end());
  out->problems.insert(out->problems.end(), problems.begin(), problems.end());
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

ImageWalk find_images(const std::vector<std::string>& paths) {
  ImageWalk out;
  for (const std::string& p : paths) {
    const Entry e = inspect(fs::u8path(p));
    if (!e.error.empty())
      out.problems.push_back({p, e.error});
    else if (e.type == fs::file_type::directory)
      walk_folder(p, &out);
    else if (e.type == fs::file_type::regular)
      out.files.push_back(p);
    else
      out.problems.push_back({p, "not a regular file or folder (" + type_name(e.type) + ")"});
  }
  return out;
}

FolderDataset FolderDataset::scan(const std::string& root) {
  const fs::path dir = fs::u8path(root);
  const Entry top = inspect(dir);
  if (top.error == "does not exist") throw std::runtime_error("image folder '" + root + "' does not exist");
  if (!top.error.empty()) throw std::runtime_error("image folder '" + root + "': " + top.error);
  if (top.type != fs::file_type::directory) throw std::runtime_error("image folder '" + root + "' is not a folder");

  FolderDataset out;
  // Names compare byte-wise on their UTF-8 form, so the order is the same on every platform.
  std::vector<std::pair<std::string, fs::path>> class_dirs;
  for (const fs::path& p : list_folder_or_throw(dir, "image folder '" + root + "'")) {
    if (is_hidden(p)) continue;
    const Entry e = inspect(p);
    if (!e.error.empty())
      out.problems.push_back({p.u8string(), e.error});
    else if (e.type == fs::file_type::directory)
      class_dirs.emplace_back(p.filename().u8string(), p);
  }
  if (class_dirs.empty()) {
    throw std::runtime_error("image folder '" + root +
                             "' has no class sub-folder (expected ROOT/<class>/<image files>)");
  }
  std::sort(class_dirs.begin(), class_dirs.end());

  out.classes.reserve(class_dirs.size());
  for (std::size_t c = 0; c < class_dirs.size(); ++c) {
    std::vector<std::pair<std::string, std::string>> files;  // (file name, full path)
    const std::string context = "class '" + class_dirs[c].first + "' of image folder '" + root + "' ('" +
                                class_dirs[c].second.u8string() + "')";
    for (const fs::path& p : list_folder_or_throw(class_dirs[c].second, context)) {
      if (is_hidden(p)) continue;
      const std::string name = p.filename().u8string();
      if (!has_image_extension(name)) continue;
      const Entry e = inspect(p);
      if (!e.error.empty())
        out.problems.push_back({p.u8string(), e.error});
      else if (e.type == fs::file_type::regular)
        files.emplace_back(name, p.u8string());
      else if (e.type != fs::file_type::directory)  // nested folders are not part of the layout
        out.problems.push_back({p.u8string(), "not a regular file (" + type_name(e.type) + ")"});
    }
    if (files.empty()) {
      throw std::runtime_error("class '" + class_dirs[c].first + "' of image folder '" + root +
                               "': no image file found in '" + class_dirs[c].second.u8string() + "' (expected " +
                               kExtensionList + ")");
    }
    std::sort(files.begin(), files.end());
    out.classes.push_back(class_dirs[c].first);
    for (auto& f : files) out.images.push_back({std::move(f.second), static_cast<int>(c)});
  }
  sort_problems(&out.problems);
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

std::vector<std::string> unique_output_stems(const std::vector<std::string>& paths) {
  // Case-folded so that X.jpg and x.png stay apart on a case-insensitive file system as well.
  const auto fold = [](std::string s) {
    for (char& c : s)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
  };
  std::vector<std::string> stems;
  std::set<std::string> taken;  // folded names in use, every stem from the start
  for (const std::string& p : paths) {
    stems.push_back(fs::u8path(p).stem().u8string());
    taken.insert(fold(stems.back()));
  }
  // A stem held by one image keeps its name; of a shared stem, the first image keeps it and the
  // others take the first free suffix, skipping names that are other images' stems (x-2.jpg).
  std::map<std::string, int> next_suffix;
  std::set<std::string> first_done;
  std::vector<std::string> names;
  for (const std::string& stem : stems) {
    const std::string key = fold(stem);
    if (first_done.insert(key).second) {
      names.push_back(stem);
      continue;
    }
    int& k = next_suffix.try_emplace(key, 2).first->second;
    while (taken.count(fold(stem + "-" + std::to_string(k)))) ++k;
    const std::string name = stem + "-" + std::to_string(k);
    taken.insert(fold(name));
    names.push_back(name);
  }
  return names;
}

}  // namespace bowlrp::datasets
