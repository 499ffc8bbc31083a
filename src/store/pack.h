// Pack file, version 1: one self-contained file holding a manifest and the
// encoded objects it needs (what `git zipllm compress` writes). Objects that
// are deltas name their base by id; bases may live outside the pack.
//
//   pack    := "ZLLP" version:u16 pad:u16 object* manifest index trailer
//   index   := (id:16 offset:u64 length:u64)*        sorted by id
//   trailer := manifest_offset:u64 manifest_len:u64 index_offset:u64
//              count:u64 sum:u64 "ZLLP"               (44 bytes)
//   sum     := XXH3-64 of manifest bytes followed by index bytes
// Little-endian. Each object is an object container (format/object.h) and
// carries its own checksums.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "store/object_source.h"

namespace zipllm::store {

inline constexpr uint64_t k_pack_trailer_size = 44;

class PackWriter : public ObjectSink {
 public:
  static Result<std::unique_ptr<PackWriter>> open_new(const std::string& path);

  bool contains(const ObjectId& id) const override { return m_index.count(id) > 0; }
  Result<std::unique_ptr<ObjectOutput>> create(const ObjectId& id, uint64_t raw_size) override;
  // Writes manifest, index and trailer, then publishes the file. (Not
  // ObjectSink::finish(), which has nothing to do here: the pack is one
  // file, published whole.)
  Status publish(const std::string& manifest);
  uint64_t objects_bytes() const { return m_file.size(); }

 private:
  friend class PackOutput;
  explicit PackWriter(AtomicFile f) : m_file(std::move(f)) {}
  AtomicFile m_file;
  std::map<ObjectId, std::pair<uint64_t, uint64_t>> m_index;
  bool m_open = false;
};

class PackReader : public ObjectSource {
 public:
  static Result<std::unique_ptr<PackReader>> open(const std::string& path);
  Result<std::optional<ObjectLocation>> locate(const ObjectId& id) const override;
  bool contains(const ObjectId& id) const override { return m_index.count(id) > 0; }
  const std::string& manifest() const { return m_manifest; }
  std::vector<ObjectId> ids() const;
  const std::string& path() const { return m_path; }

 private:
  PackReader() = default;
  std::string m_path;
  std::string m_manifest;
  std::map<ObjectId, std::pair<uint64_t, uint64_t>> m_index;
  // The pack's file while some location still holds it: every object
  // located in the meantime shares it (one descriptor, not one per object).
  mutable std::mutex m_fd_mu;
  mutable std::weak_ptr<const Fd> m_fd;
};

}  // namespace zipllm::store
