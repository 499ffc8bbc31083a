// The context coder's parts shared by its files (docs/ARCHITECTURE.md):
// ctx_rans_tables.cpp (frequency tables and the context map, their byte
// format), ctx_rans.cpp (the scalar kernels, the passes around them and the
// choice of kernel), ctx_rans_x86.cpp (AVX2 and AVX-512 kernels for 2-byte
// words), ctx_rans_neon.cpp (NEON kernels for 2-byte words). A kernel for another instruction set
// is one more file declaring its functions here and one more case where ctx_rans.cpp dispatches.
// Internal to the codec.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "codec/ctx_rans.h"

#if defined(__x86_64__)
#define ZIPLLM_X86 1
#define ZIPLLM_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vbmi2,popcnt")))
#define ZIPLLM_AVX2 __attribute__((target("avx2,popcnt")))
#endif
// Advanced SIMD is part of every AArch64 CPU; the kernels assume
// little-endian words.
#if defined(__aarch64__) && defined(__ARM_NEON) && !defined(__ARM_BIG_ENDIAN)
#define ZIPLLM_NEON 1
#endif

namespace zipllm::codec::ctx_rans::detail {

constexpr uint32_t k_prob = 1u << k_prob_bits;
constexpr uint32_t k_low = 1u << 15;  // states live in [k_low, 2^31)
constexpr unsigned k_max_planes = 8;

// Element i's context: ctx_of[(base word >> shift) & emask]; the listed
// exponents get contexts 1, 2, ... in order, every other exponent 0.
struct ContextMap {
  unsigned shift = 0;
  uint32_t emask = 0;
  std::vector<uint8_t> ctx_of;  // emask + 1 entries
  unsigned contexts = 1;
};

// The encoder's symbol constants, indexed by (row * w + plane) * 256 +
// symbol, where an element's row is its base exponent (ctx_rans.cpp):
// rcp | packed << 32, where packed = freq | shift << 13 | bias << 17. One
// 64-bit entry per symbol, so the vector kernels gather once per symbol,
// not twice (a gather costs per element on both vendors).
struct EncTables {
  std::vector<uint64_t> entry;
  static uint32_t rcp(uint64_t e) { return static_cast<uint32_t>(e); }
  static uint32_t packed(uint64_t e) { return static_cast<uint32_t>(e >> 32); }
  static uint64_t make(const EncSymbol& s, uint32_t freq) {
    return s.rcp | uint64_t(freq | uint32_t(s.shift) << 13 | s.bias << 17) << 32;
  }
};

// Decoder tables: for each context with elements, w blocks of 4096 entries
// (one per plane), entry = symbol | (freq - 1) << 8 | (slot - cum) << 20;
// then one all-zero block that contexts without elements point at (a base
// element landing there marks the chunk corrupt).
struct DecodeTables {
  std::vector<uint32_t> arena;
  std::vector<uint32_t> exp_off;  // exponent -> offset of its context's block
  uint32_t poison_off = 0;
  // exponent -> block number, for the vector kernel's in-register lookup
  // (usable when there are at most 256 exponents and 255 blocks)
  std::array<uint8_t, 256> exp_blk{};
  bool blk_fits = false;
};

struct DecodeState {
  std::array<uint32_t, k_max_planes * k_lanes> st{};
  const uint8_t* wp = nullptr;
  const uint8_t* wend = nullptr;
  bool poisoned = false;
  uint32_t short_stream = 0;
};

// Frequency tables and the context map (ctx_rans_tables.cpp).
void normalize(const uint32_t* count, uint64_t total, uint32_t* freq);
ContextMap make_context_map(const format::DtypeInfo& dt, const std::vector<uint16_t>& exps);
// context-list := nb:varint exponent:varint[nb]  (strictly increasing)
Result<ContextMap> read_context_map(ByteView enc, size_t& pos, const format::DtypeInfo& dt);
// table := nsym:varint [symbols] [freqs]
//   symbols: none if nsym is 256; a 32-byte bitmap if nsym > 32; else nsym
//            increasing bytes
//   freqs:   nsym - 1 varints (the last is 4096 minus their sum); none if
//            nsym is 1 (frequency 4096)
void put_table(const uint32_t* freq, std::vector<uint8_t>& out);
// Reads a table into freq[256]; returns the number of symbols (0: empty).
Result<unsigned> get_table(ByteView enc, size_t& pos, uint32_t* freq);
Status read_tables(ByteView enc, size_t& pos, unsigned w, const ContextMap& map, DecodeTables& t);

// The smallest and largest row (base exponent) the encoder's delta pass
// has seen; lo > hi until it has seen one.
struct RowRange {
  uint16_t lo = 0xffff;
  uint16_t hi = 0;
  void add(uint16_t r) {
    lo = r < lo ? r : lo;
    hi = r > hi ? r : hi;
  }
};

#ifdef ZIPLLM_X86
// The x86 kernels for 2-byte words (ctx_rans_x86.cpp). Each returns how far
// it got (elements of the delta pass, the next write position of the
// encoder, blocks decoded); the scalar kernels do the rest. The delta
// passes widen `rows` to the rows they wrote.
ZIPLLM_AVX512 size_t avx512_delta_w2(const uint8_t* rp, const uint8_t* bp, size_t n, unsigned shift,
                                     uint32_t emask, uint16_t* z, uint16_t* e, RowRange& rows);
ZIPLLM_AVX2 size_t avx2_delta_w2(const uint8_t* rp, const uint8_t* bp, size_t n, unsigned shift,
                                 uint32_t emask, uint16_t* z, uint16_t* e, RowRange& rows);
// `gather`: table lookups by gather instructions, else by scalar loads
// (the same results; see use_gathers).
ZIPLLM_AVX512 uint16_t* avx512_encode_blocks_w2(const uint16_t* z, const uint16_t* row, size_t full,
                                                const EncTables& et, uint32_t* st, uint16_t* p,
                                                bool gather);
ZIPLLM_AVX2 uint16_t* avx2_encode_blocks_w2(const uint16_t* z, const uint16_t* row, size_t full,
                                            const EncTables& et, uint32_t* st, uint16_t* p,
                                            bool gather);
ZIPLLM_AVX512 size_t avx512_decode_blocks_w2(DecodeState& d, const DecodeTables& t,
                                             const ContextMap& map, const uint8_t* bp, uint8_t* op,
                                             size_t nfull);
ZIPLLM_AVX2 size_t avx2_decode_blocks_w2(DecodeState& d, const DecodeTables& t,
                                         const ContextMap& map, const uint8_t* bp, uint8_t* op,
                                         size_t nfull, bool gather);
#endif

#ifdef ZIPLLM_NEON
// The NEON kernels for 2-byte words (ctx_rans_neon.cpp), returning how far
// they got as the x86 ones do.
size_t neon_delta_w2(const uint8_t* rp, const uint8_t* bp, size_t n, unsigned shift, uint32_t emask,
                     uint16_t* z, uint16_t* e, RowRange& rows);
size_t neon_decode_blocks_w2(DecodeState& d, const DecodeTables& t, const ContextMap& map,
                             const uint8_t* bp, uint8_t* op, size_t nfull);
#endif

}  // namespace zipllm::codec::ctx_rans::detail
