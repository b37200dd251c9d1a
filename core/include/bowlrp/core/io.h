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
#pragma once

#include <cstddef>
#include <string>

namespace bowlrp::core {

/// Reads a whole regular file; throws std::runtime_error naming the path when it cannot be read
/// or is not a regular file (directory, FIFO, device, socket: the message names the type).
std::string read_file(const std::string& path);

/// Writes bytes to path atomically (temporary file in the same folder, fsync, rename); creates
/// missing parent folders; then removes stale temporaries of the same target
/// (remove_stale_temporaries). Throws std::runtime_error naming the path on failure.
void write_file_atomic(const std::string& path, const std::string& bytes);

/// Removes the temporaries "<path>.tmp<pid>_<digits>" left by write_file_atomic calls whose
/// process <pid> no longer exists (kill(pid, 0) fails with ESRCH); a live writer's file is never
/// touched. Best effort: errors are ignored. Returns the number of files removed.
std::size_t remove_stale_temporaries(const std::string& path);

}  // namespace bowlrp::core
