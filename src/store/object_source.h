// Interfaces between the places objects live and the code that reads and
// writes them.
//
// ObjectSource: finds an encoded object by id (a local store, a pack file).
// ObjectSink:   accepts new encoded objects, written sequentially and
//               published atomically on commit.
// Implementations must be safe to call from several threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "util/file.h"
#include "util/hash.h"
#include "util/result.h"

namespace zipllm::store {

// An encoded object: `length` bytes at `offset` of an open file.
struct ObjectLocation {
  std::shared_ptr<const Fd> fd;
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string where;  // a path, for error messages
  // The object came from another store (a fetch, a push into this one) and
  // its bytes have not been compared with raw bytes here. Ids are XXH3-128,
  // which an attacker can collide: such an object is not deduplicated
  // against before that comparison (ingest does it, then vouches for it).
  bool foreign = false;
};

class ObjectSource {
 public:
  virtual ~ObjectSource() = default;
  // nullopt when the object is not here.
  virtual Result<std::optional<ObjectLocation>> locate(const ObjectId& id) const = 0;
  virtual bool contains(const ObjectId& id) const = 0;
};

// One object being written. Offsets are relative to the object's start.
class ObjectOutput {
 public:
  virtual ~ObjectOutput() = default;
  virtual Status append(ByteView data) = 0;
  virtual Status write_at(uint64_t offset, ByteView data) = 0;
  // Publishes the object. Without commit() nothing becomes visible.
  virtual Status commit() = 0;
};

class ObjectSink {
 public:
  virtual ~ObjectSink() = default;
  virtual bool contains(const ObjectId& id) const = 0;
  // Whether an undamaged copy is here, so writing `id` again can be
  // skipped (deduplication): None (absent, or damaged and set aside, so
  // the caller writes it anew), Own (written here from raw bytes), or
  // Foreign (came from elsewhere: compare before trusting, then vouch()).
  enum class Holding { None, Own, Foreign };
  virtual Holding holding(const ObjectId& id) {
    return contains(id) ? Holding::Own : Holding::None;
  }
  bool has_intact(const ObjectId& id) { return holding(id) != Holding::None; }
  // A foreign object's bytes were found equal to raw bytes: trust it.
  virtual Status vouch(const ObjectId&) { return {}; }
  // A foreign object's bytes differ from the raw bytes of its id (a forged
  // or colliding object): set it aside so the true bytes can be written.
  virtual Status reject(const ObjectId&) { return {}; }
  // At most one output may be open at a time per sink. `raw_size` is the
  // object's decoded size (a hint: small objects may be batched).
  virtual Result<std::unique_ptr<ObjectOutput>> create(const ObjectId& id, uint64_t raw_size) = 0;
  // Makes everything committed so far durable and visible. Until then a
  // sink may hold committed objects back (batching); callers must finish
  // before publishing anything that refers to them.
  virtual Status finish() { return {}; }
};

}  // namespace zipllm::store
