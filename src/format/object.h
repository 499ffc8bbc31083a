// Object container, version 1: the stored form of one tensor or blob.
// Grammar and field meanings in docs/FORMAT.md §2. Little-endian throughout.
//
//   object := header:76 table:(chunk_count * 20) chunk_data
//   header := "ZLLO" version:u16 kind:u8 dtype:u8 depth:u8 pad:3
//             raw_size:u64 chunk_size:u32 chunk_count:u32
//             id:16 base_id:16 base_size:u64 header_sum:u64
//   entry  := enc_size:u32 enc_sum:u64 raw_sum:u64
//
// header_sum = XXH3-64 of header bytes [0,68) followed by the table.
// Pure: serializes and validates memory only.
#pragma once

#include <cstdint>
#include <vector>

#include "format/dtype.h"
#include "util/hash.h"
#include "util/result.h"

namespace zipllm::format {

inline constexpr uint16_t k_object_version = 1;
inline constexpr size_t k_object_header_size = 76;
inline constexpr size_t k_chunk_entry_size = 20;
inline constexpr uint32_t k_default_chunk_size = 4u << 20;
inline constexpr uint32_t k_max_chunk_size = 64u << 20;
inline constexpr uint8_t k_max_depth = 16;

enum class ObjectKind : uint8_t { Tensor = 1, Blob = 2 };

struct ChunkEntry {
  uint32_t enc_size = 0;
  uint64_t enc_sum = 0;  // XXH3-64 of the encoded chunk
  uint64_t raw_sum = 0;  // XXH3-64 of the decoded chunk
};

struct ObjectHeader {
  ObjectKind kind = ObjectKind::Tensor;
  Dtype dtype = Dtype::U8;
  uint8_t depth = 0;  // 0: decodes alone; else 1 + the base object's depth
  uint64_t raw_size = 0;
  uint32_t chunk_size = k_default_chunk_size;
  ObjectId id;
  ObjectId base_id;  // zero when no chunk refers to a base
  uint64_t base_size = 0;
  std::vector<ChunkEntry> chunks;

  bool has_base() const { return !base_id.is_zero(); }
  uint32_t chunk_count() const { return static_cast<uint32_t>(chunks.size()); }
  uint64_t chunk_offset(uint32_t i) const { return uint64_t(i) * chunk_size; }
  uint32_t chunk_raw_size(uint32_t i) const;
  uint64_t table_size() const { return chunks.size() * k_chunk_entry_size; }
  uint64_t data_offset() const { return k_object_header_size + table_size(); }
};

uint32_t chunk_count_for(uint64_t raw_size, uint32_t chunk_size);

// Header + table bytes, with header_sum filled in.
std::vector<uint8_t> serialize_object_header(const ObjectHeader& h);

// Parses the fixed header; returns the chunk count so the caller can read
// the table. Validates magic, version, kind, dtype, sizes.
Result<ObjectHeader> parse_object_prefix(ByteView prefix76);
// Parses the table that follows and checks header_sum. `h` comes from
// parse_object_prefix; `prefix76` and `table` are the bytes read.
Status parse_object_table(ObjectHeader& h, ByteView prefix76, ByteView table);

}  // namespace zipllm::format
