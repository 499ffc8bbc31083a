// Resolver: raw bytes of any object id, wherever it lives.
//
// An id resolves to either a raw tensor in a plain safetensors file (a base
// the user passed on the command line) or an encoded object in one of the
// registered ObjectSources, whose delta chunks resolve their base ids
// recursively. Recursion is bounded because a delta object's base must have
// a smaller chain depth (raw tensors have depth 0).
//
// Thread-safe after setup: add_* must not race with reads.
#pragma once

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "format/dtype.h"
#include "store/object_io.h"

namespace zipllm::store {

struct RawTensor {
  std::shared_ptr<const Fd> fd;
  uint64_t offset = 0;
  uint64_t size = 0;
  format::Dtype dtype = format::Dtype::U8;
  std::string where;  // "path: tensor 'name'"
};

class Resolver {
 public:
  void add_source(const ObjectSource* source) { m_sources.push_back(source); }
  // Appended to the error for an object no source has: where was looked
  // and how to point the repository at the right store.
  void set_missing_hint(std::string hint) { m_missing_hint = std::move(hint); }
  // Raw tensors and candidates may be added while other threads read
  // (checkout restores several files at once and offers each one restored).
  void add_raw(const ObjectId& id, RawTensor t) {
    std::unique_lock lock(*m_raw_mu);
    m_raw.emplace(id, std::move(t));
  }
  // A place that may still hold the tensor's raw bytes (a model file in the
  // work tree). Checked once, on first use, by hashing it against `id`; used
  // instead of decoding the stored object only if it matches. Reading a
  // file is far cheaper than decoding, and a file changed later is caught
  // by the per-chunk checksums of whatever is decoded from it.
  void add_raw_candidate(const ObjectId& id, RawTensor t);

  const RawTensor* raw_tensor(const ObjectId& id) const;
  // A raw tensor, or a candidate that checks out (hashing it the first time).
  const RawTensor* raw_source(const ObjectId& id) const;
  bool contains(const ObjectId& id) const;
  // Opens the encoded object; NotFound naming the id if no source has it.
  Result<ObjectReader> open(const ObjectId& id) const;
  // Chain depth of id: 0 for raw tensors and self-contained objects.
  Result<uint8_t> depth_of(const ObjectId& id) const;
  // How many raw bytes id holds (from a raw tensor or the object's header,
  // without decoding): what a caller checks before allocating for it.
  Result<uint64_t> raw_size(const ObjectId& id) const;

  // Reads raw bytes [offset, offset + out.size()) of object `id`.
  Status read_raw(const ObjectId& id, uint64_t offset, std::span<uint8_t> out) const;
  // Decodes chunk i of r, fetching base bytes as needed; checks raw_sum.
  Result<std::vector<uint8_t>> decode_chunk(const ObjectReader& r, uint32_t i) const;
  // The same into `out` (exactly the chunk's raw size), with the encoded
  // and base bytes in buffers each thread reuses. A caller that re-hashes
  // the whole object against its id anyway (restore) may skip the raw_sum
  // check, one pass over the bytes fewer.
  Status decode_chunk_into(const ObjectReader& r, uint32_t i, std::span<uint8_t> out,
                           bool check_sum = true) const;

 private:
  // Raw bytes [offset, offset + out.size()) of an opened object.
  Status read_object(const ObjectReader& r, uint64_t offset, std::span<uint8_t> out) const;
  struct Candidate {
    RawTensor tensor;
    std::once_flag checked;
    bool ok = false;
  };
  const RawTensor* verified_candidate(const ObjectId& id) const;

  std::vector<const ObjectSource*> m_sources;

  std::string m_missing_hint;
  // Guards the two maps (their nodes never move); a pointer so the
  // resolver stays movable.
  std::unique_ptr<std::shared_mutex> m_raw_mu = std::make_unique<std::shared_mutex>();
  std::unordered_map<ObjectId, RawTensor, ObjectIdHash> m_raw;
  std::unordered_map<ObjectId, std::unique_ptr<Candidate>, ObjectIdHash> m_candidates;
};

}  // namespace zipllm::store
