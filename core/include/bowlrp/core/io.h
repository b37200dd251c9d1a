// Small file helpers shared by every module: whole-file reads and atomic writes.
//
// An atomic write puts the bytes in a temporary file beside the target, flushes it to disk and
// renames it over the target, so a crash leaves either the old file or the new one, never half.
// A writer killed between the two leaves its temporary "<target>.tmp<pid>_<random>" behind; the
// next write of the same target removes those whose writer pid no longer exists. The pid is
// only meaningful on this machine and in this pid namespace: targets in a folder shared with
// writers on other hosts or in other containers must not rely on that clean-up.
//
// Reads accept regular files only: a FIFO or a device (/dev/zero) would block or never end.
// Writes go only over regular files: a device (/dev/full), FIFO or folder is never replaced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace bowlrp::core {

/// Reads a whole regular file; throws std::runtime_error naming the path when it cannot be read
/// or is not a regular file (directory, FIFO, device, socket: the message names the type).
std::string read_file(const std::string& path);

/// A regular file opened for reads of chosen ranges, so that a reader can check a header before
/// it reads (or allocates) what the header declares. Opening throws as read_file does.
class FileReader {
 public:
  /// Opens path (regular files only).
  explicit FileReader(const std::string& path);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;
  /// The file's size when it was opened.
  std::uint64_t size() const { return size_; }
  /// The n bytes at offset; throws std::runtime_error naming the path if the file ends before.
  std::string read(std::uint64_t offset, std::size_t n) const;
  /// Reads [offset, offset + n) in pieces of at most `piece` bytes, handing each to fn(data, size).
  void scan(std::uint64_t offset, std::uint64_t n, std::size_t piece,
            const std::function<void(const char*, std::size_t)>& fn) const;

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

/// Throws std::runtime_error naming the path unless it can be an output of write_file_atomic: a
/// regular file (or a link to one) or a missing name whose nearest existing ancestor is a folder.
/// A directory, device, FIFO or socket is never replaced (the message names its type).
void check_output_file(const std::string& path);

/// Throws std::invalid_argument naming `what` when a path holds a NUL character (the system would
/// read it cut at the NUL: another file than the one named).
void check_path_text(const std::string& path, const std::string& what);

/// Writes bytes to path atomically (temporary file in the same folder, fsync, rename); creates
/// missing parent folders; then removes stale temporaries of the same target
/// (remove_stale_temporaries). Refuses a target that is not a regular file (check_output_file).
/// Throws std::runtime_error naming the path on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

/// Removes the temporaries "<path>.tmp<pid>_<digits>" left by write_file_atomic calls whose
/// process <pid> no longer exists (kill(pid, 0) fails with ESRCH); a live writer's file is never
/// touched. Best effort: errors are ignored. Returns the number of files removed.
std::size_t remove_stale_temporaries(const std::string& path);

}  // namespace bowlrp::core
