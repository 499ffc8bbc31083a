// File access: an owning descriptor, positioned reads, and AtomicFile, which
// publishes a file only on an explicit commit() (temp file in the target's
// directory -> fsync -> rename). All OS access of the project goes through
// here, so errors carry the path and errno text.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/hash.h"
#include "util/result.h"

namespace zipllm {

// Owning file descriptor. Move-only.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd();
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return m_fd; }
  bool valid() const { return m_fd >= 0; }
  int release() {
    int fd = m_fd;
    m_fd = -1;
    return fd;
  }

 private:
  int m_fd = -1;
};

Result<Fd> open_read(const std::string& path);
Result<uint64_t> file_size(int fd, const std::string& path);

// Reads exactly out.size() bytes at offset; a short read is an error.
Status read_exact_at(int fd, uint64_t offset, std::span<uint8_t> out, const std::string& path);
// Reads up to out.size() bytes from a stream; returns how many (0 = EOF).
Result<size_t> read_some(int fd, std::span<uint8_t> out, const std::string& path);
Status write_all(int fd, std::span<const uint8_t> data, const std::string& path);

Result<std::vector<uint8_t>> read_whole_file(const std::string& path, uint64_t max_size);

// XXH3-128 object id of bytes [offset, offset + length) of a file.
Result<ObjectId> hash_file_range(int fd, uint64_t offset, uint64_t length, const std::string& path);

// The entries of a directory (nothing if it cannot be read), and the
// files under it at any depth (symbolic links listed, not followed). Never
// throw: std::filesystem's range-for increments do, on a racing delete.
std::vector<std::string> list_dir(const std::string& dir);
std::vector<std::string> list_files_recursive(const std::string& dir);

Status make_dirs(const std::string& path);
// fsyncs the directory holding `path` (after a rename into it), best effort.
void fsync_dir_of(const std::string& path);
// Empties the open file `fd` and rewinds it (a download retried from the
// start).
Status truncate_to_start(int fd, const std::string& path);
bool path_exists(const std::string& path);
// Whether `path` itself (a link not followed) is a regular file / a directory.
bool is_plain_file(const std::string& path);
bool is_plain_dir(const std::string& path);
// Whether both paths name the same existing file (same device and inode:
// links and other spellings included).
bool same_file(const std::string& a, const std::string& b);

// A file that becomes visible at `path` only when commit() succeeds. Until
// then it lives as a uniquely named temp file in the same directory; the
// destructor removes it if commit() was never called or failed. Writing goes
// straight to the descriptor (callers buffer).
class AtomicFile {
 public:
  // Creates the temp file. `mode` is applied at commit (e.g. 0444 for store
  // objects, 0644 for work tree files). A `durable` file is fsynced (and its
  // directory after the rename), so it survives power loss once commit()
  // returns; others (work tree files, as git's own checkout writes them) are
  // still atomic for every other process, killed writers included.
  // With a `tmp_dir` on the same filesystem as `path`, the temp file lives
  // there instead (so a killed writer leaves nothing beside the target,
  // e.g. in a git work tree); on another filesystem it stays beside `path`.
  static Result<AtomicFile> create(const std::string& path, unsigned mode = 0644,
                                   bool durable = true, const std::string& tmp_dir = "");
  ~AtomicFile();
  AtomicFile(AtomicFile&&) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;

  Status write(std::span<const uint8_t> data);
  Status pwrite(uint64_t offset, std::span<const uint8_t> data);
  int fd() const { return m_fd.get(); }
  const std::string& path() const { return m_path; }
  // Where the bytes are until commit() (readable: opened read-write).
  const std::string& temp_path() const { return m_tmp; }
  uint64_t size() const { return m_written; }

  // fsync (if durable), rename over `path`, fsync the directory (if durable). If `keep_existing`
  // and a file already exists at path, the temp file is discarded instead (the content-addressed
  // case: losing a race to an identical object is fine).
  Status commit(bool keep_existing = false);

 private:
  AtomicFile(std::string path, std::string tmp, Fd fd, unsigned mode, bool durable)
      : m_path(std::move(path)),
        m_tmp(std::move(tmp)),
        m_fd(std::move(fd)),
        m_mode(mode),
        m_durable(durable) {}
  std::string m_path;
  std::string m_tmp;
  Fd m_fd;
  unsigned m_mode;
  bool m_durable;
  uint64_t m_written = 0;
  bool m_done = false;
};

Error os_error(const std::string& what, const std::string& path, int err);

// The process's umask (read once; call first from main, before threads).
unsigned process_umask();

}  // namespace zipllm

namespace zipllm {

// Temp files (AtomicFile's and TempFile's) are named "<name>.tmp-<pid>-<n>-<rand>"
// and hold an exclusive flock while their writer lives. Whether the one at
// `path` may belong to a live process (its lock is held, or the pid in its
// name runs): cleanup must leave such files alone.
bool temp_file_in_use(const std::string& path);

// A scratch file removed when the object dies. Created with O_EXCL in `dir`.
class TempFile {
 public:
  static Result<TempFile> create(const std::string& dir, const std::string& prefix);
  ~TempFile();
  TempFile(TempFile&& o) noexcept : m_path(std::move(o.m_path)), m_fd(std::move(o.m_fd)) {
    o.m_path.clear();
  }
  TempFile& operator=(TempFile&&) = delete;
  TempFile(const TempFile&) = delete;
  const std::string& path() const { return m_path; }
  int fd() const { return m_fd.get(); }

 private:
  TempFile(std::string p, Fd fd) : m_path(std::move(p)), m_fd(std::move(fd)) {}
  std::string m_path;
  Fd m_fd;
};

}  // namespace zipllm
