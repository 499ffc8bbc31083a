#include "util/file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "util/buffer.h"

namespace zipllm {

Error os_error(const std::string& what, const std::string& path, int err) {
  Errc code = (err == ENOENT) ? Errc::NotFound : Errc::IoError;
  return make_error(code, what + " " + path + ": " + std::strerror(err));
}

Fd::~Fd() {
  if (m_fd >= 0) {
    ::close(m_fd);
  }
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    m_fd = other.release();
  }
  return *this;
}

Result<Fd> open_read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return os_error("cannot open", path, errno);
  }
  return Fd(fd);
}

static Status check_in_file(int fd, uint64_t offset, uint64_t length, const std::string& path) {
  uint64_t size = TRY(file_size(fd, path));
  if (offset > size || length > size - offset) {
    return make_error(Errc::Corrupt,
                      path + ": range " + std::to_string(offset) + "+" + std::to_string(length) +
                          " runs past the end of the file (" + std::to_string(size) + " bytes)");
  }
  return {};
}

Result<ObjectId> hash_file_range(int fd, uint64_t offset, uint64_t length,
                                 const std::string& path) {
  // Read into one small buffer that stays in cache, not through mappings:
  // in VMs the page faults of a mapping (and the TLB shootdowns of unmapping
  // it while other threads run) cost more than the copy (issue 14).
  constexpr uint64_t k_block = 1u << 20;
  TRY_STATUS(check_in_file(fd, offset, length, path));
  IdHasher hasher;
  ScratchBytes buf;
  buf.resize(static_cast<size_t>(std::min(k_block, length)));
  for (uint64_t off = 0; off < length; off += k_block) {
    std::span<uint8_t> b(buf.data(), static_cast<size_t>(std::min(k_block, length - off)));
    TRY_STATUS(read_exact_at(fd, offset + off, b, path));
    hasher.update(b);
  }
  return hasher.finish();
}

Result<uint64_t> file_size(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return os_error("cannot stat", path, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    return make_error(Errc::InvalidArgument, path + " is a directory");
  }
  return static_cast<uint64_t>(st.st_size);
}

Status read_exact_at(int fd, uint64_t offset, std::span<uint8_t> out, const std::string& path) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return os_error("cannot read", path, errno);
    }
    if (n == 0) {
      return make_error(Errc::InvalidArgument,
                        path + ": unexpected end of file at byte " + std::to_string(offset + done));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<size_t> read_some(int fd, std::span<uint8_t> out, const std::string& path) {
  while (true) {
    ssize_t n = ::read(fd, out.data(), out.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return os_error("cannot read", path, errno);
    }
    return static_cast<size_t>(n);
  }
}

Status write_all(int fd, std::span<const uint8_t> data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return os_error("cannot write", path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<std::vector<uint8_t>> read_whole_file(const std::string& path, uint64_t max_size) {
  Fd fd = TRY(open_read(path));
  uint64_t size = TRY(file_size(fd.get(), path));
  if (size > max_size) {
    return make_error(Errc::InvalidArgument, path + ": file too large (" + std::to_string(size) +
                                                 " bytes, limit " + std::to_string(max_size) + ")");
  }
  std::vector<uint8_t> data(size);
  TRY_STATUS(read_exact_at(fd.get(), 0, data, path));
  return data;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec), end;
  while (!ec && it != end) {
    out.push_back(it->path().string());
    it.increment(ec);
  }
  return out;
}

std::vector<std::string> list_files_recursive(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, ec), end;
  while (!ec && it != end) {
    std::error_code ec2;
    if (it->is_symlink(ec2) || it->is_regular_file(ec2)) {
      out.push_back(it->path().string());
    }
    it.increment(ec);
  }
  return out;
}

Status make_dirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return make_error(Errc::IoError, "cannot create directory " + path + ": " + ec.message());
  }
  return {};
}

bool is_plain_file(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_plain_dir(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

static std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[64];
  std::snprintf(buf, sizeof buf, ".tmp-%d-%llu-%08llx", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(counter++),
                static_cast<unsigned long long>(rng() & 0xffffffffu));
  return buf;
}

namespace {

// Marks a new temp file as held by this process (released when the
// descriptor closes, whatever kills the process).
void hold(int fd) {
  (void)::flock(fd, LOCK_EX | LOCK_NB);
}

}  // namespace

bool temp_file_in_use(const std::string& path) {
  size_t at = path.rfind(".tmp-");
  if (at != std::string::npos) {
    long pid = std::strtol(path.c_str() + at + 5, nullptr, 10);
    if (pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM)) {
      return true;
    }
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    return false;
  }
  bool busy = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return busy;
}

unsigned process_umask() {
  static const unsigned mask = [] {
    mode_t m = ::umask(0);
    ::umask(m);
    return static_cast<unsigned>(m);
  }();
  return mask;
}

Result<AtomicFile> AtomicFile::create(const std::string& path, unsigned mode, bool durable,
                                      const std::string& tmp_dir) {
  std::string tmp = path + unique_suffix();
  if (!tmp_dir.empty()) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    struct stat a, b;
    if (::stat(tmp_dir.c_str(), &a) == 0 && ::stat(dir.empty() ? "." : dir.c_str(), &b) == 0 &&
        a.st_dev == b.st_dev) {
      tmp = tmp_dir + "/" + std::filesystem::path(path).filename().string() + unique_suffix();
    }
  }
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return os_error("cannot create", tmp, errno);
  }
  hold(fd);
  return AtomicFile(path, tmp, Fd(fd), mode, durable);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : m_path(std::move(other.m_path)),
      m_tmp(std::move(other.m_tmp)),
      m_fd(std::move(other.m_fd)),
      m_mode(other.m_mode),
      m_durable(other.m_durable),
      m_written(other.m_written),
      m_done(other.m_done) {
  other.m_done = true;
}

AtomicFile::~AtomicFile() {
  if (!m_done) {
    ::unlink(m_tmp.c_str());
  }
}

Status AtomicFile::write(std::span<const uint8_t> data) {
  TRY_STATUS(write_all(m_fd.get(), data, m_tmp));
  m_written += data.size();
  return {};
}

Status AtomicFile::pwrite(uint64_t offset, std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(m_fd.get(), data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return os_error("cannot write", m_tmp, errno);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

void fsync_dir_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) {
    dir = ".";
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

Status truncate_to_start(int fd, const std::string& path) {
  if (::ftruncate(fd, 0) != 0 || ::lseek(fd, 0, SEEK_SET) != 0) {
    return os_error("cannot truncate", path, errno);
  }
  return {};
}

Status AtomicFile::commit(bool keep_existing) {
  if (::fchmod(m_fd.get(), m_mode) != 0) {
    return os_error("cannot chmod", m_tmp, errno);
  }
  if (m_durable && ::fsync(m_fd.get()) != 0) {
    return os_error("cannot fsync", m_tmp, errno);
  }
  m_fd = Fd();
  if (keep_existing && path_exists(m_path)) {
    ::unlink(m_tmp.c_str());
    m_done = true;
    return {};
  }
  if (::rename(m_tmp.c_str(), m_path.c_str()) != 0) {
    return os_error("cannot rename " + m_tmp + " to", m_path, errno);
  }
  m_done = true;
  if (m_durable) {
    fsync_dir_of(m_path);
  }
  return {};
}

}  // namespace zipllm

namespace zipllm {

Result<TempFile> TempFile::create(const std::string& dir, const std::string& prefix) {
  TRY_STATUS(make_dirs(dir));
  std::string path = dir + "/" + prefix + unique_suffix();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return os_error("cannot create", path, errno);
  }
  hold(fd);
  return TempFile(path, Fd(fd));
}

TempFile::~TempFile() {
  if (!m_path.empty()) {
    ::unlink(m_path.c_str());
  }
}

}  // namespace zipllm
