// A base model: tensors by name, from one or more safetensors files (the
// shards of a sharded base), used as delta bases during ingest.
#pragma once

#include <map>

#include "format/manifest.h"
#include "ops/safetensors_file.h"
#include "store/resolver.h"
#include "util/thread_pool.h"

namespace zipllm::ops {

struct BaseTensor {
  ObjectId id;
  format::Dtype dtype;
  uint64_t size = 0;
  std::string origin;  // "path" or a manifest name, for reports
};

class BaseModel {
 public:
  // Adds every tensor of a safetensors file: hashes it and registers its raw
  // bytes with `resolver` so deltas against it can be encoded and decoded.
  // A name already present (from an earlier shard) is an error. Tensors are
  // hashed in parallel on `pool` when given.
  Status add_file(const std::string& path, store::Resolver& resolver, ThreadPool* pool = nullptr);
  // Adds the tensors of a stored model (their objects are in a store the
  // resolver reads). `origin` names it in reports.
  Status add_manifest(const format::Manifest& m, const std::string& origin);

  const BaseTensor* find(const std::string& name) const;
  const std::map<std::string, BaseTensor>& tensors() const { return m_by_name; }
  size_t size() const { return m_by_name.size(); }
  bool empty() const { return m_by_name.empty(); }

 private:
  std::map<std::string, BaseTensor> m_by_name;
};

}  // namespace zipllm::ops
