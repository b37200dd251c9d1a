// Small file helpers shared by every module: whole-file reads and atomic writes.
//
// An atomic write puts the bytes in a temporary file beside the target, flushes it to disk and
// renames it over the target, so a crash leaves either the old file or the new one, never half.
#pragma once

#include <string>

namespace bowlrp::bow {

/// Reads a whole file; throws std::runtime_error naming the path when it cannot be read.
std::string read_file(const std::string& path);

/// Writes bytes to path atomically (temporary file in the same folder, fsync, rename); creates
/// missing parent folders; throws std::runtime_error naming the path on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace bowlrp::bow
