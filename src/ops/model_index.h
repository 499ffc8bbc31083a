// The store's index of models by tensor signature, so finding a new file's
// candidate bases reads a few small directories instead of every manifest
// the store holds (docs/FORMAT.md §5):
//
//   <store>/models/<sha256>               a model's manifest (§1 text)
//   <store>/index/sig/<key>/<sha256>      empty: that model has `key`
//
// A model's keys name its k_signature_keys largest tensors by name and
// dtype (not shape: a grown vocabulary keeps its key). Two models that
// share most of their tensor bytes share their largest tensors, so a
// lookup with F's keys finds every model the signature check would keep,
// and a handful more that it then drops. The same two kinds of keys live
// in a remote store (push writes them), where `index/sig/<key>/` is one
// LIST. Writes are atomic and idempotent: the markers first, the manifest
// last, so a lookup never sees a marker whose model it cannot read twice.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "format/manifest.h"

namespace zipllm::ops {

inline constexpr size_t k_signature_keys = 8;

// 16 hex digits: XXH3-64 of the dtype's name, a NUL and the tensor name.
std::string signature_key(const format::TensorInfo& t);
// The keys of a model's largest tensors (ties by name), at most
// k_signature_keys, no duplicates.
std::vector<std::string> signature_keys(const format::Header& h);
std::vector<std::string> signature_keys(const format::Manifest& m);

// Key names, shared by the local index and remote stores.
std::string model_key(const std::array<uint8_t, 32>& sha256);  // "models/<hex>"
std::string index_prefix(const std::string& key);              // "index/sig/<key>/"

// The models (SHA-256 hex names) listed under a file's keys, those listed
// under the most keys first; `per_key` holds the names found under each
// key (a local directory or a remote store's listing). Other names are
// ignored.
std::vector<std::string> most_shared(const std::vector<std::vector<std::string>>& per_key);

class ModelIndex {
 public:
  explicit ModelIndex(std::string store_root) : m_root(std::move(store_root)) {}

  // Records a safetensors model. Best effort: an index that misses a model
  // costs a delta, never data. Generic manifests are not indexed.
  void add(const format::Manifest& m);
  bool has(const std::array<uint8_t, 32>& sha256) const;
  // The models sharing a key with `keys`: at most `max`, each parsed.
  std::vector<format::Manifest> lookup(std::span<const std::string> keys, size_t max) const;

  // Stores made before the index have models only in their caches: the
  // git layer fills the index from them once, then marks it built.
  bool built() const;
  void mark_built() const;

 private:
  std::string m_root;
};

}  // namespace zipllm::ops
