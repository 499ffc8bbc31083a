#include "store/local_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace zipllm::store {

namespace {

class FileOutput : public ObjectOutput {
public:
  explicit FileOutput(AtomicFile file) : m_file(std::move(file)) {}
  Status append(Bytes data) override { return m_file.write(data); }
  Status write_at(uint64_t offset, Bytes data) override { return m_file.pwrite(offset, data); }
  Status commit() override { return m_file.commit(/*keep_existing=*/true); }

private:
  AtomicFile m_file;
};

}  // namespace

Result<std::unique_ptr<LocalStore>> LocalStore::open(const std::string& root) {
  TRY_STATUS(make_dirs(root + "/objects"));
  return std::unique_ptr<LocalStore>(new LocalStore(root));
}

std::string LocalStore::path_of(const ObjectId& id) const {
  std::string hex = id.hex();
  return m_root + "/objects/" + hex.substr(0, 2) + "/" + hex.substr(2);
}

bool LocalStore::contains(const ObjectId& id) const { return path_exists(path_of(id)); }

Result<std::optional<ObjectLocation>> LocalStore::locate(const ObjectId& id) const {
  std::string path = path_of(id);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return std::optional<ObjectLocation>();
    }
    return os_error("cannot open object", path, errno);
  }
  auto owned = std::make_shared<const Fd>(fd);
  uint64_t size = TRY(file_size(fd, path));
  return std::optional<ObjectLocation>(ObjectLocation{owned, 0, size, path});
}

Result<std::unique_ptr<ObjectOutput>> LocalStore::create(const ObjectId& id) {
  std::string path = path_of(id);
  std::string dir = path.substr(0, path.rfind('/'));
  TRY_STATUS(make_dirs(dir));
  AtomicFile f = TRY(AtomicFile::create(path, 0444));
  return std::unique_ptr<ObjectOutput>(new FileOutput(std::move(f)));
}

}  // namespace zipllm::store
