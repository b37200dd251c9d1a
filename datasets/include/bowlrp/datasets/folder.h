// Folder-per-class image sets: ROOT/<class>/*.{jpg,jpeg,png,bmp,tif,tiff,pgm,ppm,pbm,webp}, and the
// recursive walk that lists the image files under folders given on a command line.
//
// Walks report what they cannot read instead of dropping it: every entry that cannot be listed or
// stat'ed (a folder without permission, a dangling link, a link loop) becomes a WalkProblem and the
// walk goes on with the rest. The recursive walk follows a folder link only into a folder it has
// not listed yet (identified by its canonical path), so link loops end and no image is listed twice
// through two routes; real sub-folders are listed before linked ones, so an image is named by its
// link-free path when it has one.
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

/// An entry a walk could not read, and why; the walk went on without it.
struct WalkProblem {
  std::string path;    ///< the file, folder or link (UTF-8 as far as the file system's bytes are)
  std::string reason;  ///< e.g. "cannot list the folder: Permission denied"
};

/// A folder-per-class image set, classes and files in sorted order.
struct FolderDataset {
  std::vector<std::string> classes;   ///< sub-folder names, sorted
  std::vector<LabelledImage> images;  ///< sorted by class then file name
  std::vector<WalkProblem> problems;  ///< unreadable entries left out by scan(), sorted by path
  /// Lists ROOT (UTF-8 path). Class folders and files are sorted byte-wise on their UTF-8 names;
  /// hidden entries (leading '.'), files at the top level, files of other extensions and nested
  /// folders are ignored; symbolic links are followed. An entry that cannot be stat'ed (dangling or
  /// looping link, no permission) or an image-named entry that is neither a file nor a folder is
  /// left out and listed in `problems`. Throws std::runtime_error naming the folder if ROOT is
  /// missing, has no class sub-folder, a class folder cannot be listed, or has no image file.
  static FolderDataset scan(const std::string& root);
  /// Seeded split: per class, round(test_fraction * n) images (clamped to 1 .. n-1 when n >= 2; a
  /// lone image goes to train) chosen by a seeded shuffle go to the test part. Each class has its
  /// own stream of the seed, so its split does not depend on the other classes; both parts keep
  /// this set's order and classes, and may alias *this. Deterministic on every platform.
  /// Throws std::invalid_argument unless 0 < test_fraction < 1 and both outputs are non-null.
  void split(double test_fraction, std::uint64_t seed, FolderDataset* train, FolderDataset* test) const;
};

/// Image files found under the paths of a command line, and what could not be read on the way.
struct ImageWalk {
  std::vector<std::string> files;     ///< per input path in the given order; a folder's files sorted byte-wise
  std::vector<WalkProblem> problems;  ///< per input path in the given order; a folder's problems sorted by path
};

/// Lists the image files of `paths` (UTF-8). A file is taken as given, whatever its extension; a
/// folder is walked recursively for files with an image extension, hidden entries (leading '.')
/// skipped, folder links followed once per canonical folder (see the note at the top). A missing
/// path, an entry that is neither file nor folder, a folder or entry that cannot be read, and a
/// folder that holds no image file are reported in `problems`, never thrown: one bad path does not
/// stop the others. Each input path is walked on its own, so a folder given twice is listed twice.
ImageWalk find_images(const std::vector<std::string>& paths);

/// Output names of a batch, one per image: the file's stem, made unique when two images share it
/// (a/x.jpg and b/x.jpg, or x.jpg and x.png) by a suffix -2, -3, ... that is not itself a stem of
/// another image. Stems compare ignoring ASCII case, so outputs stay distinct on case-insensitive
/// file systems too. Deterministic: depends only on the list and its order.
std::vector<std::string> unique_output_stems(const std::vector<std::string>& paths);

/// Whether the file name has an image extension the folder loader accepts (case-insensitive).
bool has_image_extension(const std::string& path);

}  // namespace bowlrp::datasets
