// Reading and writing one encoded object (format/object.h) at an
// ObjectLocation / into an ObjectOutput.
//
// ObjectReader reads lazily: open() reads header and chunk table only;
// read_chunk_into() reads and checks one encoded chunk (enc_sum). Readers are
// immutable after open() and safe to share between threads (pread only).
//
// ObjectWriter writes a placeholder header, then chunks in order, then the
// real header and table on finish(), then commits the output.
#pragma once

#include <vector>

#include "format/object.h"
#include "store/object_source.h"
#include "util/buffer.h"

namespace zipllm::store {

class ObjectReader {
 public:
  static Result<ObjectReader> open(const ObjectLocation& loc, const ObjectId& expect_id);

  const format::ObjectHeader& header() const { return m_header; }
  // The encoded bytes of chunk i into a reused buffer (resized to fit),
  // checked against its enc_sum.
  Status read_chunk_into(uint32_t i, ScratchBytes& enc) const;
  // Total encoded size (for reporting).
  uint64_t stored_size() const { return m_loc.length; }
  const std::string& where() const { return m_loc.where; }

 private:
  ObjectLocation m_loc;
  format::ObjectHeader m_header;
  std::vector<uint64_t> m_chunk_pos;  // offset of each chunk within the object
};

// Checks an encoded object without decoding it: its header checksum, that
// it holds `id`, that its size matches its chunk table, and every chunk's
// encoded-bytes checksum. Catches damage (a flipped bit, a truncated copy)
// at the cost of reading the object once; Corrupt naming the object and
// where it is otherwise. (Decoding and re-hashing, as `verify` does, is
// the full check.)
Status check_encoded(const ObjectLocation& loc, const ObjectId& id);

class ObjectWriter {
 public:
  // `header` carries kind, dtype, raw_size, chunk_size, id and the candidate
  // base (base_id, base_size, depth). Chunks are filled in by append_chunk.
  static Result<ObjectWriter> begin(std::unique_ptr<ObjectOutput> out, format::ObjectHeader header);
  // `used_base`: whether this chunk's encoding refers to the base.
  Status append_chunk(ByteView encoded, uint64_t raw_sum, bool used_base);
  // Writes header and table (dropping the base if no chunk used it) and
  // commits. Returns the object's total encoded size.
  Result<uint64_t> finish();
  bool used_base() const { return m_used_base; }

 private:
  ObjectWriter() = default;
  std::unique_ptr<ObjectOutput> m_out;
  format::ObjectHeader m_header;
  uint32_t m_next = 0;
  uint64_t m_size = 0;
  bool m_used_base = false;
};

}  // namespace zipllm::store
