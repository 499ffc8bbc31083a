#include "store/staging_sink.h"

#include <sys/stat.h>

#include <filesystem>

namespace zipllm::store {

class StagedOutput : public ObjectOutput {
 public:
  StagedOutput(StagingSink& sink, ObjectId id, AtomicFile file)
      : m_sink(sink), m_id(id), m_file(std::move(file)) {}
  Status append(ByteView data) override { return m_file.write(data); }
  Status write_at(uint64_t offset, ByteView data) override { return m_file.pwrite(offset, data); }
  Status commit() override {
    std::string path = m_file.path();
    TRY_STATUS(m_file.commit());
    std::lock_guard lock(m_sink.m_mutex);
    m_sink.m_written[m_id] = path;
    return {};
  }

 private:
  StagingSink& m_sink;
  ObjectId m_id;
  AtomicFile m_file;
};

Result<std::unique_ptr<StagingSink>> StagingSink::open(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0) {
    return os_error("cannot create", dir, errno);
  }
  return std::unique_ptr<StagingSink>(new StagingSink(dir));
}

StagingSink::~StagingSink() {
  std::error_code ec;
  std::filesystem::remove_all(m_dir, ec);
}

Result<std::unique_ptr<ObjectOutput>> StagingSink::create(const ObjectId& id, uint64_t) {
  AtomicFile f = TRY(AtomicFile::create(m_dir + "/" + id.hex(), 0600));
  return std::unique_ptr<ObjectOutput>(new StagedOutput(*this, id, std::move(f)));
}

std::map<ObjectId, std::string> StagingSink::written() const {
  std::lock_guard lock(m_mutex);
  return m_written;
}

}  // namespace zipllm::store
