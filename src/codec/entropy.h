// Stream coders: one byte stream in, one self-delimiting record out.
//
//   record := coder:u8 raw_len:u32le enc_len:u32le payload:byte[enc_len]
//
// coder 0 raw, 1 rANS order-0 (htscodecs 4x16), 2 rANS order-1, 3 zstd,
// 4 constant (payload = the one byte repeated raw_len times). The encoder
// tries the coders a Policy allows and keeps the smallest, so a record is
// never more than 9 bytes larger than its input. Pure and thread-safe
// (zstd contexts are per call).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "util/hash.h"
#include "util/result.h"

namespace zipllm::codec {

enum class Coder : uint8_t { Raw = 0, Rans0 = 1, Rans1 = 2, Zstd = 3, Const = 4 };

inline constexpr size_t k_record_overhead = 9;
inline constexpr uint32_t k_max_stream = 64u << 20;  // chunks are far smaller

struct Policy {
  bool rans0 = true;
  bool rans1 = false;
  bool zstd = false;
  int zstd_level = 3;
};

// Appends the record for `in` to `out`.
void encode_stream(ByteView in, const Policy& policy, std::vector<uint8_t>& out);

// Decodes one record starting at in[pos], advancing pos. The decoded bytes
// must be exactly `expect_len` long (the caller knows them from its layout).
Status decode_stream(ByteView in, size_t& pos, std::vector<uint8_t>& out, size_t expect_len);
// The same, decoding straight into `out` (whose size is the expected length).
Status decode_stream_to(ByteView in, size_t& pos, std::span<uint8_t> out);

}  // namespace zipllm::codec
