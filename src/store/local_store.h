// The local content-addressed object store: a directory
//
//   <root>/objects/<id[0:2]>/<id[2:32]>   one encoded object per file, mode 0444
//   <root>/tmp/                           (unused by objects: temp files are
//                                          created beside their target so the
//                                          rename never crosses a filesystem)
//
// Writes are atomic (temp file -> fsync -> rename) and idempotent: losing a
// race to another process writing the same id is success, because equal ids
// mean equal raw bytes. Safe for many processes and threads at once.
#pragma once

#include "store/object_source.h"

namespace zipllm::store {

class LocalStore : public ObjectSource, public ObjectSink {
public:
  // Creates the directory layout if missing.
  static Result<std::unique_ptr<LocalStore>> open(const std::string& root);

  const std::string& root() const { return m_root; }
  std::string path_of(const ObjectId& id) const;

  Result<std::optional<ObjectLocation>> locate(const ObjectId& id) const override;
  bool contains(const ObjectId& id) const override;
  Result<std::unique_ptr<ObjectOutput>> create(const ObjectId& id) override;

private:
  explicit LocalStore(std::string root) : m_root(std::move(root)) {}
  std::string m_root;
};

}  // namespace zipllm::store
