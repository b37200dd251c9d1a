#include <bowlrp/bow/io.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>

namespace bowlrp::bow {

namespace {

std::string file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Closes the descriptor on every path out of read_file.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

}  // namespace

std::string read_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO without a writer would otherwise block in open() itself. The type
  // is checked on the opened descriptor, not on the path, so the file cannot be swapped between
  // the check and the read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
  const FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw std::runtime_error("cannot stat '" + path + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    throw std::runtime_error("cannot read '" + path + "': it is " + file_type_name(st.st_mode) +
                             ", expected a regular file");
  std::string out;
  out.reserve(static_cast<std::size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("error while reading '" + path + "': " + std::strerror(errno));
    }
    if (r == 0) break;
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

namespace {

// The writer pid in a temporary name "<target name>.tmp<pid>_<digits>", or 0 if `name` is not one.
pid_t temporary_writer(const std::string& name, const std::string& target_name) {
  const std::string prefix = target_name + ".tmp";
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return 0;
  const std::size_t us = name.find('_', prefix.size());
  if (us == std::string::npos || us == prefix.size() || us + 1 == name.size() || us - prefix.size() > 9) return 0;
  for (std::size_t i = prefix.size(); i < name.size(); ++i)
    if (i != us && (name[i] < '0' || name[i] > '9')) return 0;
  return static_cast<pid_t>(std::stol(name.substr(prefix.size(), us - prefix.size())));
}

}  // namespace

std::size_t remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target = fs::u8path(path);
  const std::string target_name = target.filename().string();
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::size_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const pid_t pid = temporary_writer(it->path().filename().string(), target_name);
    if (pid <= 0) continue;
    // Only a writer that no longer exists: EPERM means alive under another user, and a live
    // writer (this process's other threads included) is about to rename its file.
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code rm;
    if (fs::is_regular_file(it->symlink_status(rm)) && fs::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  namespace fs = std::filesystem;
  const fs::path target = fs::u8path(path);
  std::error_code ec;
  if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
  std::random_device rd;
  const fs::path tmp = target.string() + ".tmp" + std::to_string(::getpid()) + "_" + std::to_string(rd());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot create '" + tmp.string() + "' to write '" + path + "': " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      fs::remove(tmp, ec);
      throw std::runtime_error("cannot write '" + path + "': " + std::strerror(err));
    }
    done += static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    fs::remove(tmp, ec);
    throw std::runtime_error("cannot flush '" + path + "': " + std::strerror(err));
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw std::runtime_error("cannot rename the temporary file onto '" + path + "': " + ec.message());
  }
  remove_stale_temporaries(path);
}

}  // namespace bowlrp::bow
