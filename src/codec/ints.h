// The integers of the codec's byte formats: little-endian u32 (stream
// records, chunk headers, rANS states) and LEB128 numbers (7 bits per byte,
// low first, high bit = more: bucket tables, the context coder's tables).
#pragma once

#include <cstdint>
#include <vector>

#include "util/hash.h"
#include "util/result.h"

namespace zipllm::codec {

inline void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
}

inline uint32_t get_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

inline void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

inline Result<uint64_t> get_varint(ByteView enc, size_t& pos) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (pos >= enc.size()) {
      return make_error(Errc::Corrupt, "chunk header truncated");
    }
    uint8_t byte = enc[pos++];
    v |= uint64_t(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      return v;
    }
  }
  return make_error(Errc::Corrupt, "chunk header: overlong number");
}

}  // namespace zipllm::codec
