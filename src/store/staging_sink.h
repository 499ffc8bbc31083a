// A sink that keeps every object it is given in a file of its own, for the
// caller to inspect and then swap into a store (LocalStore::replace_encodings)
// or drop: `git zipllm repack` encodes a model again this way without
// touching the store until it has compared sizes. It claims to hold
// nothing, so ingest encodes every tensor. Files are durable once their
// output commits; whatever is left is removed with the sink (and by `gc`
// after a kill: the folder is under the store's tmp/).
#pragma once

#include <map>
#include <mutex>

#include "store/object_source.h"

namespace zipllm::store {

class StagingSink : public ObjectSink {
 public:
  // Creates `dir` (which must not exist yet).
  static Result<std::unique_ptr<StagingSink>> open(const std::string& dir);
  ~StagingSink() override;

  bool contains(const ObjectId&) const override { return false; }
  Result<std::unique_ptr<ObjectOutput>> create(const ObjectId& id, uint64_t raw_size) override;

  // Committed objects: id -> file.
  std::map<ObjectId, std::string> written() const;

 private:
  explicit StagingSink(std::string dir) : m_dir(std::move(dir)) {}
  friend class StagedOutput;
  std::string m_dir;
  mutable std::mutex m_mutex;
  std::map<ObjectId, std::string> m_written;
};

}  // namespace zipllm::store
