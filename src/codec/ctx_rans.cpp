#include "codec/ctx_rans.h"

#include "codec/ints.h"
#include "codec/words.h"
#include "util/buffer.h"

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own
// "undefined" vectors (a known false positive).
#if defined(__x86_64__)
#define ZIPLLM_X86 1
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdlib>
#include <memory>
#include <string>

namespace zipllm::codec::ctx_rans {

namespace {

constexpr uint32_t k_prob = 1u << k_prob_bits;
constexpr uint32_t k_low = 1u << 15;  // states live in [k_low, 2^31)
constexpr unsigned k_max_planes = 8;

// Scales symbol counts (total > 0) to frequencies summing to 4096, every
// present symbol at least 1. Deterministic.
void normalize(const uint32_t* count, uint64_t total, uint32_t* freq) {
  uint32_t sum = 0;
  unsigned largest = 0;
  for (unsigned s = 0; s < 256; ++s) {
    freq[s] = 0;
    if (count[s]) {
      freq[s] = std::max<uint32_t>(
          1, static_cast<uint32_t>((uint64_t(count[s]) * k_prob + total / 2) / total));
      sum += freq[s];
      if (freq[s] > freq[largest]) {
        largest = s;
      }
    }
  }
  if (sum <= k_prob || freq[largest] > sum - k_prob) {
    freq[largest] = freq[largest] + k_prob - sum;
    return;
  }
  // Many symbols were rounded up to 1: take the excess from the largest
  // frequencies one at a time.
  while (sum > k_prob) {
    unsigned m = 0;
    for (unsigned s = 1; s < 256; ++s) {
      if (freq[s] > freq[m]) {
        m = s;
      }
    }
    --freq[m];
    --sum;
  }
}

// Element i's context: ctx_of[(base word >> shift) & emask]; the listed
// exponents get contexts 1, 2, ... in order, every other exponent 0.
struct ContextMap {
  unsigned shift = 0;
  uint32_t emask = 0;
  std::vector<uint8_t> ctx_of;  // emask + 1 entries
  unsigned contexts = 1;
};

ContextMap make_context_map(const format::DtypeInfo& dt, const std::vector<uint16_t>& exps) {
  ContextMap m;
  m.shift = dt.mant_bits;
  m.emask = (1u << dt.exp_bits) - 1;
  m.ctx_of.assign(m.emask + 1, 0);
  for (size_t k = 0; k < exps.size(); ++k) {
    m.ctx_of[exps[k]] = static_cast<uint8_t>(k + 1);
  }
  m.contexts = static_cast<unsigned>(exps.size() + 1);
  return m;
}

// context-list := nb:varint exponent:varint[nb]  (strictly increasing)
Result<ContextMap> read_context_map(Bytes enc, size_t& pos, const format::DtypeInfo& dt) {
  if (dt.exp_bits == 0) {
    return make_error(Errc::Corrupt, "context-coded chunk for a dtype without exponents");
  }
  const uint32_t emask = (1u << dt.exp_bits) - 1;
  uint64_t nexp = TRY(get_varint(enc, pos));
  if (nexp > emask + 1 || nexp >= k_max_contexts) {
    return make_error(Errc::Corrupt, "context-coded chunk lists too many exponents");
  }
  std::vector<uint16_t> exps;
  for (uint64_t j = 0; j < nexp; ++j) {
    uint64_t e = TRY(get_varint(enc, pos));
    if (e > emask || (!exps.empty() && e <= exps.back())) {
      return make_error(Errc::Corrupt, "context-coded chunk: exponents out of range or order");
    }
    exps.push_back(static_cast<uint16_t>(e));
  }
  return make_context_map(dt, exps);
}

// table := nsym:varint [symbols] [freqs]
//   symbols: none if nsym is 256; a 32-byte bitmap if nsym > 32; else nsym
//            increasing bytes
//   freqs:   nsym - 1 varints (the last is 4096 minus their sum); none if
//            nsym is 1 (frequency 4096)
void put_table(const uint32_t* freq, std::vector<uint8_t>& out) {
  unsigned nsym = 0;
  for (unsigned s = 0; s < 256; ++s) {
    nsym += freq[s] != 0;
  }
  put_varint(out, nsym);
  if (nsym == 0) {
    return;
  }
  if (nsym > 32 && nsym < 256) {
    for (unsigned byte = 0; byte < 32; ++byte) {
      uint8_t bits = 0;
      for (unsigned b = 0; b < 8; ++b) {
        bits = static_cast<uint8_t>(bits | (freq[byte * 8 + b] != 0) << b);
      }
      out.push_back(bits);
    }
  } else if (nsym <= 32) {
    for (unsigned s = 0; s < 256; ++s) {
      if (freq[s]) {
        out.push_back(static_cast<uint8_t>(s));
      }
    }
  }
  unsigned written = 0;
  for (unsigned s = 0; s < 256 && written + 1 < nsym; ++s) {
    if (freq[s]) {
      put_varint(out, freq[s]);
      ++written;
    }
  }
}

// Reads a table into freq[256]; returns the number of symbols (0: empty).
Result<unsigned> get_table(Bytes enc, size_t& pos, uint32_t* freq) {
  std::fill(freq, freq + 256, 0u);
  uint64_t nsym = TRY(get_varint(enc, pos));
  if (nsym > 256) {
    return make_error(Errc::Corrupt, "context coder: table with more than 256 symbols");
  }
  if (nsym == 0) {
    return 0u;
  }
  std::array<uint8_t, 256> syms{};
  if (nsym == 256) {
    for (unsigned s = 0; s < 256; ++s) {
      syms[s] = static_cast<uint8_t>(s);
    }
  } else if (nsym > 32) {
    if (enc.size() - pos < 32) {
      return make_error(Errc::Corrupt, "context coder: frequency table truncated");
    }
    unsigned k = 0;
    for (unsigned s = 0; s < 256; ++s) {
      if (enc[pos + s / 8] >> (s % 8) & 1) {
        if (k == nsym) {
          return make_error(Errc::Corrupt, "context coder: symbol bitmap does not match its count");
        }
        syms[k++] = static_cast<uint8_t>(s);
      }
    }
    if (k != nsym) {
      return make_error(Errc::Corrupt, "context coder: symbol bitmap does not match its count");
    }
    pos += 32;
  } else {
    if (enc.size() - pos < nsym) {
      return make_error(Errc::Corrupt, "context coder: frequency table truncated");
    }
    for (unsigned k = 0; k < nsym; ++k) {
      syms[k] = enc[pos + k];
      if (k && syms[k] <= syms[k - 1]) {
        return make_error(Errc::Corrupt, "context coder: symbols out of order");
      }
    }
    pos += nsym;
  }
  uint32_t sum = 0;
  for (unsigned k = 0; k + 1 < nsym; ++k) {
    uint64_t f = TRY(get_varint(enc, pos));
    if (f == 0 || f >= k_prob - sum) {
      return make_error(Errc::Corrupt, "context coder: frequencies out of range");
    }
    freq[syms[k]] = static_cast<uint32_t>(f);
    sum += static_cast<uint32_t>(f);
  }
  freq[syms[nsym - 1]] = k_prob - sum;  // >= 1 by the check above
  return nsym;
}

std::atomic<int> g_kernel_cap{static_cast<int>(Kernel::Avx512)};

// The best kernel this CPU has, within the cap (cap_kernel).
Kernel best_kernel() {
  static const Kernel best = [] {
    Kernel k = Kernel::Scalar;
#ifdef ZIPLLM_X86
    if (__builtin_cpu_supports("avx2")) {
      k = Kernel::Avx2;
    }
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi") &&
        __builtin_cpu_supports("avx512vbmi2")) {
      k = Kernel::Avx512;
    }
#endif
    return k;
  }();
  return static_cast<Kernel>(
      std::min(static_cast<int>(best), g_kernel_cap.load(std::memory_order_relaxed)));
}

// The encoder's symbol constants, in two arrays indexed by
// (context * w + plane) * 256 + symbol so the vector kernel can gather
// them: the reciprocal, and freq | shift << 13 | bias << 17.
struct EncTables {
  std::vector<uint32_t> rcp;
  std::vector<uint32_t> packed;
  void set(size_t at, const EncSymbol& s, uint32_t freq) {
    rcp[at] = s.rcp;
    packed[at] = freq | uint32_t(s.shift) << 13 | s.bias << 17;
  }
};

// Encodes blocks [from, to) in reverse order.
template <class W>
uint16_t* scalar_encode_blocks(const W* z, const uint8_t* ctx, size_t n, size_t from, size_t to,
                               const EncTables& et, uint32_t* st, uint16_t* p) {
  constexpr unsigned w = sizeof(W);
  for (size_t b = to; b-- > from;) {
    const size_t i0 = b * k_lanes;
    const unsigned lanes = static_cast<unsigned>(std::min<size_t>(k_lanes, n - i0));
    for (unsigned j = w; j-- > 0;) {
      uint32_t* s = st + j * k_lanes;
      // The lanes' steps first (independent), then the emitted words in
      // lane order (the only serial part: the write position).
      uint32_t emit[k_lanes];
      uint16_t word[k_lanes];
      for (unsigned k = 0; k < lanes; ++k) {
        const size_t i = i0 + k;
        const size_t at = (size_t(ctx[i]) * w + j) * 256 + static_cast<uint8_t>(z[i] >> (8 * j));
        const uint32_t pk = et.packed[at];
        const uint32_t freq = pk & 0x1fff;
        uint32_t x = s[k];
        emit[k] = x >= freq << (31 - k_prob_bits);
        word[k] = static_cast<uint16_t>(x);
        x >>= emit[k] * 16;
        const uint32_t q =
            static_cast<uint32_t>((uint64_t(x) * et.rcp[at]) >> 32) >> (pk >> 13 & 15);
        s[k] = x + (pk >> 17) + q * (k_prob - freq);
      }
      for (unsigned k = lanes; k-- > 0;) {
        p[-1] = word[k];  // kept only when emitted
        p -= emit[k];
      }
    }
  }
  return p;
}

#ifdef ZIPLLM_X86
#define ZIPLLM_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vbmi2,popcnt")))

#define ZIPLLM_AVX2 __attribute__((target("avx2,popcnt")))

// The 64 states of 2-byte words in registers: plane j's lanes 16h .. 16h+15
// in x[2j + h] (AVX-512), lanes 8h .. 8h+7 in x[4j + h] (AVX2).
ZIPLLM_AVX512 inline void load_states(const uint32_t* st, __m512i (&x)[4]) {
  for (int k = 0; k < 4; ++k) {
    x[k] = _mm512_loadu_si512(st + 16 * k);
  }
}
ZIPLLM_AVX512 inline void store_states(uint32_t* st, const __m512i (&x)[4]) {
  for (int k = 0; k < 4; ++k) {
    _mm512_storeu_si512(st + 16 * k, x[k]);
  }
}
ZIPLLM_AVX2 inline void load_states(const uint32_t* st, __m256i (&x)[8]) {
  for (int k = 0; k < 8; ++k) {
    x[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(st + 8 * k));
  }
}
ZIPLLM_AVX2 inline void store_states(uint32_t* st, const __m256i (&x)[8]) {
  for (int k = 0; k < 8; ++k) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(st + 8 * k), x[k]);
  }
}

ZIPLLM_AVX512 inline __m512i encode_step16(__m512i x, __m512i at, const EncTables& et,
                                           uint16_t*& p) {
  const __m512i rcp = _mm512_i32gather_epi32(at, et.rcp.data(), 4);
  const __m512i pk = _mm512_i32gather_epi32(at, et.packed.data(), 4);
  const __m512i freq = _mm512_and_si512(pk, _mm512_set1_epi32(0x1fff));
  const __mmask16 emit = _mm512_cmpge_epu32_mask(x, _mm512_slli_epi32(freq, 31 - k_prob_bits));
  p -= std::popcount(static_cast<unsigned>(emit));
  _mm256_mask_compressstoreu_epi16(p, emit, _mm512_cvtepi32_epi16(x));
  x = _mm512_mask_srli_epi32(x, emit, x, 16);
  const __m512i even = _mm512_srli_epi64(_mm512_mul_epu32(x, rcp), 32);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), _mm512_srli_epi64(rcp, 32));
  __m512i q = _mm512_mask_blend_epi32(0xAAAA, even, odd);
  q = _mm512_srlv_epi32(q, _mm512_and_si512(_mm512_srli_epi32(pk, 13), _mm512_set1_epi32(15)));
  x = _mm512_add_epi32(x, _mm512_srli_epi32(pk, 17));
  return _mm512_add_epi32(x,
                          _mm512_mullo_epi32(q, _mm512_sub_epi32(_mm512_set1_epi32(k_prob), freq)));
}

// Blocks [0, full) of 2-byte words in reverse order, 16 lanes at a time
// (lanes 16..31 before 0..15, as the scalar loop goes).
ZIPLLM_AVX512 uint16_t* avx512_encode_blocks_w2(const uint16_t* z, const uint8_t* ctx, size_t full,
                                                const EncTables& et, uint32_t* st, uint16_t* p) {
  __m512i x[4];
  load_states(st, x);
  const __m512i lo8 = _mm512_set1_epi32(0xff);
  for (size_t b = full; b-- > 0;) {
    const size_t i0 = b * k_lanes;
    const __m512i z0 =
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(z + i0)));
    const __m512i z1 =
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(z + i0 + 16)));
    // (ctx * 2 + plane) * 256 + byte
    const __m512i c0 = _mm512_slli_epi32(
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ctx + i0))), 9);
    const __m512i c1 = _mm512_slli_epi32(
        _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(ctx + i0 + 16))), 9);
    const __m512i plane1 = _mm512_set1_epi32(256);
    x[3] = encode_step16(
        x[3], _mm512_add_epi32(_mm512_add_epi32(c1, plane1), _mm512_srli_epi32(z1, 8)), et, p);
    x[2] = encode_step16(
        x[2], _mm512_add_epi32(_mm512_add_epi32(c0, plane1), _mm512_srli_epi32(z0, 8)), et, p);
    x[1] = encode_step16(x[1], _mm512_add_epi32(c1, _mm512_and_si512(z1, lo8)), et, p);
    x[0] = encode_step16(x[0], _mm512_add_epi32(c0, _mm512_and_si512(z0, lo8)), et, p);
  }
  store_states(st, x);
  return p;
}

// The AVX2 encoder for 2-byte words: pass 1 with 16-lane vectors, the
// steps with 8 lanes. Without a compressing store, each step moves its
// emitted words to the top lanes (a permutation looked up from the mask)
// and stores all 8 just below the write position; the words below the
// emitted ones land in space not yet written (the buffer has 8 words of
// slack at its start).
struct CompressTable {
  // For each 8-bit mask with c bits set: output lane 8 - c + r takes the
  // lane of the r-th set bit (the others are don't-care).
  alignas(32) std::array<std::array<uint32_t, 8>, 256> idx{};
  constexpr CompressTable() {
    for (unsigned m = 0; m < 256; ++m) {
      unsigned c = 0;
      for (unsigned k = 0; k < 8; ++k) {
        c += (m >> k) & 1;
      }
      unsigned r = 0;
      for (unsigned k = 0; k < 8; ++k) {
        if ((m >> k) & 1) {
          idx[m][8 - c + r] = k;
          ++r;
        }
      }
    }
  }
};
constexpr CompressTable k_compress{};

ZIPLLM_AVX2 size_t avx2_delta_w2(const uint8_t* rp, const uint8_t* bp, size_t n, unsigned shift,
                                 uint32_t emask, uint16_t* z, uint16_t* e) {
  const __m256i sign = _mm256_set1_epi16(static_cast<short>(0x8000));
  const __m256i vemask = _mm256_set1_epi16(static_cast<short>(emask));
  const __m128i vshift = _mm_cvtsi32_si128(static_cast<int>(shift));
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i f = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rp + 2 * i));
    const __m256i g = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + 2 * i));
    const __m256i kf = _mm256_xor_si256(f, _mm256_or_si256(_mm256_srai_epi16(f, 15), sign));
    const __m256i kg = _mm256_xor_si256(g, _mm256_or_si256(_mm256_srai_epi16(g, 15), sign));
    const __m256i d = _mm256_sub_epi16(kf, kg);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(z + i),
                        _mm256_xor_si256(_mm256_slli_epi16(d, 1), _mm256_srai_epi16(d, 15)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(e + i),
                        _mm256_and_si256(_mm256_srl_epi16(g, vshift), vemask));
  }
  return i;
}

ZIPLLM_AVX2 inline __m256i encode_step8(__m256i x, __m256i at, const EncTables& et, uint16_t*& p) {
  const __m256i rcp = _mm256_i32gather_epi32(reinterpret_cast<const int*>(et.rcp.data()), at, 4);
  const __m256i pk = _mm256_i32gather_epi32(reinterpret_cast<const int*>(et.packed.data()), at, 4);
  const __m256i freq = _mm256_and_si256(pk, _mm256_set1_epi32(0x1fff));
  // x >= freq << 19, as (x >> 19) >= freq (no signed-compare overflow).
  const __m256i keep = _mm256_cmpgt_epi32(freq, _mm256_srli_epi32(x, 31 - k_prob_bits));
  const unsigned m = ~static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(keep))) & 0xff;
  const __m256i moved = _mm256_and_si256(
      _mm256_permutevar8x32_epi32(
          x, _mm256_load_si256(reinterpret_cast<const __m256i*>(k_compress.idx[m].data()))),
      _mm256_set1_epi32(0xffff));
  _mm_storeu_si128(
      reinterpret_cast<__m128i*>(p - 8),
      _mm_packus_epi32(_mm256_castsi256_si128(moved), _mm256_extracti128_si256(moved, 1)));
  p -= std::popcount(m);
  x = _mm256_blendv_epi8(_mm256_srli_epi32(x, 16), x, keep);
  const __m256i even = _mm256_srli_epi64(_mm256_mul_epu32(x, rcp), 32);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(rcp, 32));
  __m256i q = _mm256_blend_epi32(even, odd, 0xAA);
  q = _mm256_srlv_epi32(q, _mm256_and_si256(_mm256_srli_epi32(pk, 13), _mm256_set1_epi32(15)));
  x = _mm256_add_epi32(x, _mm256_srli_epi32(pk, 17));
  return _mm256_add_epi32(x,
                          _mm256_mullo_epi32(q, _mm256_sub_epi32(_mm256_set1_epi32(k_prob), freq)));
}

ZIPLLM_AVX2 uint16_t* avx2_encode_blocks_w2(const uint16_t* z, const uint8_t* ctx, size_t full,
                                            const EncTables& et, uint32_t* st, uint16_t* p) {
  __m256i x[8];
  load_states(st, x);
  const __m256i lo8 = _mm256_set1_epi32(0xff);
  for (size_t b = full; b-- > 0;) {
    const size_t i0 = b * k_lanes;
    __m256i zz[4], c[4];
    for (int h = 0; h < 4; ++h) {
      zz[h] =
          _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(z + i0 + 8 * h)));
      // (ctx * 2 + plane) * 256 + byte
      c[h] = _mm256_slli_epi32(
          _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(ctx + i0 + 8 * h))),
          9);
    }
    for (int h = 3; h >= 0; --h) {
      x[4 + h] = encode_step8(x[4 + h],
                              _mm256_add_epi32(_mm256_add_epi32(c[h], _mm256_set1_epi32(256)),
                                               _mm256_srli_epi32(zz[h], 8)),
                              et, p);
    }
    for (int h = 3; h >= 0; --h) {
      x[h] = encode_step8(x[h], _mm256_add_epi32(c[h], _mm256_and_si256(zz[h], lo8)), et, p);
    }
  }
  store_states(st, x);
  return p;
}

// Pass 1 of the encoder for 2-byte floats, 32 elements at a time: the
// zigzagged key difference and the base exponent. Returns the elements done.
ZIPLLM_AVX512 size_t avx512_delta_w2(const uint8_t* rp, const uint8_t* bp, size_t n, unsigned shift,
                                     uint32_t emask, uint16_t* z, uint16_t* e) {
  const __m512i sign = _mm512_set1_epi16(static_cast<short>(0x8000));
  const __m512i vemask = _mm512_set1_epi16(static_cast<short>(emask));
  const __m128i vshift = _mm_cvtsi32_si128(static_cast<int>(shift));
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i f = _mm512_loadu_si512(rp + 2 * i);
    const __m512i g = _mm512_loadu_si512(bp + 2 * i);
    const __m512i kf = _mm512_xor_si512(f, _mm512_or_si512(_mm512_srai_epi16(f, 15), sign));
    const __m512i kg = _mm512_xor_si512(g, _mm512_or_si512(_mm512_srai_epi16(g, 15), sign));
    const __m512i d = _mm512_sub_epi16(kf, kg);
    const __m512i zz = _mm512_xor_si512(_mm512_slli_epi16(d, 1), _mm512_srai_epi16(d, 15));
    _mm512_storeu_si512(z + i, zz);
    _mm512_storeu_si512(e + i, _mm512_and_si512(_mm512_srl_epi16(g, vshift), vemask));
  }
  return i;
}

#endif

// Thread-local buffers of the encoder, reused from chunk to chunk (not
// zero-filled: every byte is written before it is read).
struct EncScratch {
  ScratchBytes z, exps, ctx, words;
};

template <class W>
void encode_words(Kernel kernel, const uint8_t* rp, const uint8_t* bp, size_t n,
                  const format::DtypeInfo& dt, uint32_t threshold, std::vector<uint8_t>& out) {
  constexpr unsigned w = sizeof(W);
  const unsigned shift = dt.mant_bits;
  const uint32_t emask = (1u << dt.exp_bits) - 1;
  thread_local EncScratch sc;
  sc.z.resize(n * w);
  sc.exps.resize(n * 2);
  sc.ctx.resize(n);
  W* __restrict zs = reinterpret_cast<W*>(sc.z.data());
  uint16_t* __restrict es = reinterpret_cast<uint16_t*>(sc.exps.data());
  uint8_t* __restrict cs = sc.ctx.data();
  // Pass 1: delta words and base exponents.
  size_t i = 0;
#ifdef ZIPLLM_X86
  if constexpr (w == 2) {
    if (kernel == Kernel::Avx512) {
      i = avx512_delta_w2(rp, bp, n, shift, emask, reinterpret_cast<uint16_t*>(zs), es);
    } else if (kernel == Kernel::Avx2) {
      i = avx2_delta_w2(rp, bp, n, shift, emask, reinterpret_cast<uint16_t*>(zs), es);
    }
  }
#endif
  for (; i < n; ++i) {
    W g = load<W>(bp + i * w);
    zs[i] = delta_word<W, true>(load<W>(rp + i * w), g);
    es[i] = static_cast<uint16_t>(static_cast<uint32_t>(g >> shift) & emask);
  }
  // The exponents with their own context.
  std::vector<uint32_t> ecount(2 * (size_t(emask) + 1), 0);
  {
    uint32_t* __restrict e0 = ecount.data();
    uint32_t* __restrict e1 = ecount.data() + emask + 1;
    size_t k = 0;
    for (; k + 1 < n; k += 2) {
      e0[es[k]]++;
      e1[es[k + 1]]++;
    }
    for (; k < n; ++k) {
      e0[es[k]]++;
    }
  }
  std::vector<uint16_t> exps;
  for (uint32_t e = 0; e <= emask && exps.size() + 1 < k_max_contexts; ++e) {
    if (threshold > 0 && ecount[e] + ecount[emask + 1 + e] >= threshold) {
      exps.push_back(static_cast<uint16_t>(e));
    }
  }
  put_varint(out, exps.size());
  for (uint16_t e : exps) {
    put_varint(out, e);
  }
  const ContextMap map = make_context_map(dt, exps);
  const unsigned nc = map.contexts;
  const size_t hsize = size_t(nc) * w * 256;
  std::vector<uint32_t> hist(hsize, 0);
  {
    // Pass 2, one plane at a time (its counters stay in L1), two copies so
    // runs of one symbol do not serialize on one counter; the first also
    // looks up each element's context.
    const uint8_t* __restrict ctx_of = map.ctx_of.data();
    std::vector<uint32_t> h2(2 * size_t(nc) * 256);
    for (unsigned j = 0; j < w; ++j) {
      std::fill(h2.begin(), h2.end(), 0u);
      uint32_t* __restrict h0 = h2.data();
      uint32_t* __restrict h1 = h2.data() + size_t(nc) * 256;
      if (j == 0) {
        size_t k = 0;
        for (; k + 1 < n; k += 2) {
          const uint8_t c0 = ctx_of[es[k]], c1 = ctx_of[es[k + 1]];
          cs[k] = c0;
          cs[k + 1] = c1;
          h0[size_t(c0) << 8 | static_cast<uint8_t>(zs[k])]++;
          h1[size_t(c1) << 8 | static_cast<uint8_t>(zs[k + 1])]++;
        }
        for (; k < n; ++k) {
          cs[k] = ctx_of[es[k]];
          h0[size_t(cs[k]) << 8 | static_cast<uint8_t>(zs[k])]++;
        }
      } else {
        size_t k = 0;
        for (; k + 1 < n; k += 2) {
          h0[size_t(cs[k]) << 8 | static_cast<uint8_t>(zs[k] >> (8 * j))]++;
          h1[size_t(cs[k + 1]) << 8 | static_cast<uint8_t>(zs[k + 1] >> (8 * j))]++;
        }
        for (; k < n; ++k) {
          h0[size_t(cs[k]) << 8 | static_cast<uint8_t>(zs[k] >> (8 * j))]++;
        }
      }
      for (unsigned c = 0; c < nc; ++c) {
        for (unsigned v = 0; v < 256; ++v) {
          hist[(size_t(c) * w + j) * 256 + v] = h0[c * 256 + v] + h1[c * 256 + v];
        }
      }
    }
  }
  EncTables et;
  et.rcp.assign(hsize, 0);
  et.packed.assign(hsize, 0);
  std::array<uint32_t, 256> freq{};
  for (unsigned c = 0; c < nc; ++c) {
    uint64_t total = 0;
    for (unsigned s = 0; s < 256; ++s) {
      total += hist[size_t(c) * w * 256 + s];
    }
    for (unsigned j = 0; j < w; ++j) {
      const uint32_t* count = hist.data() + (size_t(c) * w + j) * 256;
      if (total == 0) {
        put_varint(out, 0);
        continue;
      }
      normalize(count, total, freq.data());
      put_table(freq.data(), out);
      uint32_t cum = 0;
      for (unsigned s = 0; s < 256; ++s) {
        if (freq[s]) {
          et.set((size_t(c) * w + j) * 256 + s, make_symbol(cum, freq[s]), freq[s]);
          cum += freq[s];
        }
      }
    }
  }
  // Encode in exactly the reverse of the decoder's order (blocks of 32
  // elements; in a block plane by plane, lane by lane), writing the
  // renormalisation words backwards so the decoder reads them forwards.
  std::array<uint32_t, k_max_planes * k_lanes> st;
  st.fill(k_low);
  // At most one word per symbol, plus slack below for the AVX2 kernel's
  // 8-word stores.
  sc.words.resize(2 * (n * w + 8));
  uint16_t* const words_end = reinterpret_cast<uint16_t*>(sc.words.data()) + n * w + 8;
  uint16_t* p = words_end;
  const size_t full = n / k_lanes;
  p = scalar_encode_blocks<W>(zs, cs, n, full, (n + k_lanes - 1) / k_lanes, et, st.data(), p);
  size_t left = full;
#ifdef ZIPLLM_X86
  if constexpr (w == 2) {
    if (kernel == Kernel::Avx512) {
      p = avx512_encode_blocks_w2(reinterpret_cast<const uint16_t*>(zs), cs, full, et, st.data(),
                                  p);
      left = 0;
    } else if (kernel == Kernel::Avx2) {
      p = avx2_encode_blocks_w2(reinterpret_cast<const uint16_t*>(zs), cs, full, et, st.data(), p);
      left = 0;
    }
  }
#endif
  p = scalar_encode_blocks<W>(zs, cs, n, 0, left, et, st.data(), p);
  for (unsigned k = 0; k < w * k_lanes; ++k) {
    put_u32(out, st[k]);
  }
  const size_t nwords = static_cast<size_t>(words_end - p);
  put_u32(out, static_cast<uint32_t>(nwords));
  const size_t at = out.size();
  out.resize(at + 2 * nwords);
  for (size_t k = 0; k < nwords; ++k) {
    out[at + 2 * k] = static_cast<uint8_t>(p[k]);
    out[at + 2 * k + 1] = static_cast<uint8_t>(p[k] >> 8);
  }
}

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

constexpr uint8_t k_zero_word[2] = {0, 0};

Status read_tables(Bytes enc, size_t& pos, unsigned w, const ContextMap& map, DecodeTables& t) {
  const unsigned nc = map.contexts;
  std::vector<uint32_t> ctx_off(nc);
  std::array<uint32_t, 256> freq{};
  size_t blocks = 0;
  std::vector<std::array<uint32_t, 256>> tables;
  std::vector<bool> present(nc, false);
  for (unsigned c = 0; c < nc; ++c) {
    unsigned nonempty = 0;
    for (unsigned j = 0; j < w; ++j) {
      unsigned nsym = TRY(get_table(enc, pos, freq.data()));
      if (nsym) {
        ++nonempty;
        tables.push_back(freq);
      }
    }
    if (nonempty != 0 && nonempty != w) {
      return make_error(Errc::Corrupt, "context coder: a context with some planes empty");
    }
    present[c] = nonempty != 0;
    blocks += present[c];
  }
  const size_t block = size_t(w) * k_prob;
  t.arena.resize((blocks + 1) * block);
  size_t next = 0;
  for (unsigned c = 0; c < nc; ++c) {
    if (!present[c]) {
      continue;
    }
    ctx_off[c] = static_cast<uint32_t>(next * block);
    for (unsigned j = 0; j < w; ++j) {
      const auto& f = tables[next * w + j];
      uint32_t* e = t.arena.data() + next * block + j * k_prob;
      uint32_t cum = 0;
      for (uint32_t s = 0; s < 256; ++s) {
        const uint32_t entry = s | (f[s] - 1) << 8;
        for (uint32_t slot = 0; slot < f[s]; ++slot) {
          e[cum + slot] = entry | slot << 20;
        }
        cum += f[s];
      }
    }
    ++next;
  }
  t.poison_off = static_cast<uint32_t>(blocks * block);
  std::fill(t.arena.begin() + static_cast<std::ptrdiff_t>(t.poison_off), t.arena.end(), 0u);
  for (unsigned c = 0; c < nc; ++c) {
    if (!present[c]) {
      ctx_off[c] = t.poison_off;
    }
  }
  t.exp_off.resize(map.emask + 1);
  for (uint32_t e = 0; e <= map.emask; ++e) {
    t.exp_off[e] = ctx_off[map.ctx_of[e]];
  }
  t.blk_fits = map.emask <= 255 && blocks <= 255;
  if (t.blk_fits) {
    t.exp_blk.fill(0);
    for (uint32_t e = 0; e <= map.emask; ++e) {
      t.exp_blk[e] = static_cast<uint8_t>(t.exp_off[e] / block);
    }
  }
  return {};
}

template <class W>
void scalar_blocks(DecodeState& d, const DecodeTables& t, const ContextMap& map, const uint8_t* bp,
                   uint8_t* op, size_t b, size_t n) {
  constexpr unsigned w = sizeof(W);
  // Everything the loop touches in locals: byte stores may alias anything
  // the compiler cannot prove private.
  const uint32_t* __restrict arena = t.arena.data();
  const uint32_t* __restrict exp_off = t.exp_off.data();
  const unsigned shift = map.shift;
  const uint32_t emask = map.emask;
  const uint32_t poison = t.poison_off;
  const uint8_t* wp = d.wp;
  const uint8_t* const wend = d.wend;
  uint32_t short_stream = 0;
  uint32_t poisoned = 0;
  uint32_t st[k_max_planes * k_lanes];
  std::copy(d.st.begin(), d.st.end(), st);
  for (; b * k_lanes < n; ++b) {
    const size_t i0 = b * k_lanes;
    const unsigned lanes = static_cast<unsigned>(std::min<size_t>(k_lanes, n - i0));
    W g[k_lanes];
    W z[k_lanes];
    uint32_t off[k_lanes];
    for (unsigned k = 0; k < lanes; ++k) {
      g[k] = load<W>(bp + (i0 + k) * w);
      off[k] = exp_off[static_cast<uint32_t>(g[k] >> shift) & emask];
      poisoned |= off[k] == poison;
      z[k] = 0;
    }
    for (unsigned j = 0; j < w; ++j) {
      const uint32_t* tab = arena + j * k_prob;
      uint32_t* s = st + j * k_lanes;
      // The steps of the lanes are independent; only the word reads are
      // serial (each lane's position follows from the lanes before it), so
      // they come after, in a loop whose only chain is the read position.
      for (unsigned k = 0; k < lanes; ++k) {
        const uint32_t x = s[k];
        const uint32_t e = tab[off[k] + (x & (k_prob - 1))];
        s[k] = ((e >> 8 & (k_prob - 1)) + 1) * (x >> k_prob_bits) + (e >> 20);
        z[k] = W(z[k] | W(W(e & 0xff) << (8 * j)));
      }
      if (wend - wp >= 2 * ptrdiff_t(k_lanes)) {
        for (unsigned k = 0; k < lanes; ++k) {
          // Masks, not a conditional: the compiler made that a branch,
          // mispredicted on every other lane.
          const uint32_t need = s[k] < k_low;
          const uint32_t mask = 0u - need;
          const uint32_t word = uint32_t(wp[0]) | uint32_t(wp[1]) << 8;
          s[k] = (s[k] & ~mask) | ((s[k] << 16 | word) & mask);
          wp += 2 * need;
        }
      } else {
        // Near the end: past it, a zero word is read and the chunk marked
        // short.
        for (unsigned k = 0; k < lanes; ++k) {
          const uint32_t need = s[k] < k_low;
          const uint32_t avail = wend - wp >= 2;
          const uint8_t* src = avail ? wp : k_zero_word;
          const uint32_t word = uint32_t(src[0]) | uint32_t(src[1]) << 8;
          s[k] = need ? (s[k] << 16 | word) : s[k];
          wp += 2 * (need & avail);
          short_stream |= need & !avail;
        }
      }
    }
    for (unsigned k = 0; k < lanes; ++k) {
      store<W>(op + (i0 + k) * w, undelta_word<W, true>(z[k], g[k]));
    }
  }
  std::copy(st, st + d.st.size(), d.st.begin());
  d.wp = wp;
  d.short_stream |= short_stream;
  d.poisoned |= poisoned != 0;
}

#ifdef ZIPLLM_X86
// AVX-512 kernel for 2-byte words: one block of 32 elements per iteration,
// two vectors of 16 lanes per plane, table entries fetched by gather. Runs
// while a whole block's worst case of words (64) is left in the stream;
// the scalar kernel finishes. Returns the number of blocks done.
ZIPLLM_AVX512 inline __m512i rans_step(__m512i& x, __m512i off, const uint32_t* tab,
                                       const uint8_t*& wp) {
  const __m512i slot_mask = _mm512_set1_epi32(k_prob - 1);
  __m512i idx = _mm512_add_epi32(off, _mm512_and_si512(x, slot_mask));
  __m512i e = _mm512_i32gather_epi32(idx, tab, 4);
  __m512i f =
      _mm512_add_epi32(_mm512_and_si512(_mm512_srli_epi32(e, 8), slot_mask), _mm512_set1_epi32(1));
  x = _mm512_add_epi32(_mm512_mullo_epi32(f, _mm512_srli_epi32(x, k_prob_bits)),
                       _mm512_srli_epi32(e, 20));
  __mmask16 r = _mm512_cmplt_epu32_mask(x, _mm512_set1_epi32(k_low));
  __m512i in = _mm512_cvtepu16_epi32(_mm256_maskz_expandloadu_epi16(r, wp));
  x = _mm512_mask_or_epi32(x, r, _mm512_slli_epi32(x, 16), in);
  wp += 2 * std::popcount(static_cast<unsigned>(r));
  return _mm512_and_si512(e, _mm512_set1_epi32(0xff));
}

// out = unkey(key(g) + unzigzag(z)) on 16-bit values held in 32-bit lanes.
ZIPLLM_AVX512 inline __m256i undelta16(__m512i z, __m512i g) {
  const __m512i lo16 = _mm512_set1_epi32(0xffff);
  const __m512i sign = _mm512_set1_epi32(0x8000);
  const __m512i one = _mm512_set1_epi32(1);
  __m512i key = _mm512_xor_si512(
      g, _mm512_or_si512(_mm512_sub_epi32(_mm512_setzero_si512(), _mm512_srli_epi32(g, 15)), sign));
  __m512i dz = _mm512_xor_si512(_mm512_srli_epi32(z, 1),
                                _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_and_si512(z, one)));
  __m512i k = _mm512_and_si512(_mm512_add_epi32(key, dz), lo16);
  __m512i low = _mm512_or_si512(_mm512_sub_epi32(_mm512_srli_epi32(k, 15), one), sign);
  return _mm512_cvtepi32_epi16(_mm512_xor_si512(k, low));
}

// Each element's block offset from its base exponent: a gather from the
// exponent table, or (when the block numbers fit a byte) a lookup in four
// registers holding the 256-entry byte table, which avoids a gather per 16
// elements.
template <bool ByteTable>
ZIPLLM_AVX512 inline __m512i block_offsets(__m512i e, const int* exp_off, const __m512i* tab) {
  if constexpr (ByteTable) {
    const __m512i lo = _mm512_permutex2var_epi8(tab[0], e, tab[1]);
    const __m512i hi = _mm512_permutex2var_epi8(tab[2], e, tab[3]);
    const __mmask16 upper = _mm512_test_epi32_mask(e, _mm512_set1_epi32(0x80));
    const __m512i blk =
        _mm512_and_si512(_mm512_mask_blend_epi32(upper, lo, hi), _mm512_set1_epi32(0xff));
    return _mm512_slli_epi32(blk, 1 + k_prob_bits);  // 2 planes of 4096 entries per block
  } else {
    return _mm512_i32gather_epi32(e, exp_off, 4);
  }
}

template <bool ByteTable>
ZIPLLM_AVX512 size_t avx512_blocks_w2(DecodeState& d, const DecodeTables& t, const ContextMap& map,
                                      const uint8_t* bp, uint8_t* op, size_t nfull) {
  __m512i tab[4];
  for (int k = 0; k < 4; ++k) {
    tab[k] = _mm512_loadu_si512(t.exp_blk.data() + 64 * k);
  }
  const uint32_t* arena = t.arena.data();
  const int* exp_off = reinterpret_cast<const int*>(t.exp_off.data());
  const __m512i vshift = _mm512_set1_epi32(static_cast<int>(map.shift));
  const __m512i vemask = _mm512_set1_epi32(static_cast<int>(map.emask));
  const __m512i vpoison = _mm512_set1_epi32(static_cast<int>(t.poison_off));
  __m512i x[4];
  load_states(d.st.data(), x);
  const uint8_t* wp = d.wp;
  __mmask16 poisoned = 0;
  size_t b = 0;
  for (; b < nfull && d.wend - wp >= 2 * 2 * int(k_lanes); ++b) {
    const uint8_t* gb = bp + b * 64;
    __m512i g0 = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb)));
    __m512i g1 =
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + 32)));
    __m512i o0 = block_offsets<ByteTable>(_mm512_and_si512(_mm512_srlv_epi32(g0, vshift), vemask),
                                          exp_off, tab);
    __m512i o1 = block_offsets<ByteTable>(_mm512_and_si512(_mm512_srlv_epi32(g1, vshift), vemask),
                                          exp_off, tab);
    poisoned = static_cast<__mmask16>(poisoned | _mm512_cmpeq_epi32_mask(o0, vpoison) |
                                      _mm512_cmpeq_epi32_mask(o1, vpoison));
    __m512i s00 = rans_step(x[0], o0, arena, wp);
    __m512i s01 = rans_step(x[1], o1, arena, wp);
    __m512i s10 = rans_step(x[2], o0, arena + k_prob, wp);
    __m512i s11 = rans_step(x[3], o1, arena + k_prob, wp);
    __m256i r0 = undelta16(_mm512_or_si512(s00, _mm512_slli_epi32(s10, 8)), g0);
    __m256i r1 = undelta16(_mm512_or_si512(s01, _mm512_slli_epi32(s11, 8)), g1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(op + b * 64), r0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(op + b * 64 + 32), r1);
  }
  store_states(d.st.data(), x);
  d.wp = wp;
  d.poisoned |= poisoned != 0;
  return b;
}

// AVX2 kernel for 2-byte words: the same block order with vectors of 8
// lanes (four per plane). Without an expanding load, each step's words are
// loaded 8 at a time and moved to the lanes that read by a permutation
// looked up from the lane mask.
struct ExpandTable {
  // For each 8-bit mask, lane k -> how many set bits precede bit k.
  alignas(32) std::array<std::array<uint32_t, 8>, 256> idx{};
  constexpr ExpandTable() {
    for (unsigned m = 0; m < 256; ++m) {
      unsigned r = 0;
      for (unsigned k = 0; k < 8; ++k) {
        idx[m][k] = r;
        r += (m >> k) & 1;
      }
    }
  }
};
constexpr ExpandTable k_expand{};

ZIPLLM_AVX2 inline __m256i rans_step8(__m256i& x, __m256i off, const uint32_t* tab,
                                      const uint8_t*& wp) {
  const __m256i slot_mask = _mm256_set1_epi32(k_prob - 1);
  __m256i idx = _mm256_add_epi32(off, _mm256_and_si256(x, slot_mask));
  __m256i e = _mm256_i32gather_epi32(reinterpret_cast<const int*>(tab), idx, 4);
  __m256i f =
      _mm256_add_epi32(_mm256_and_si256(_mm256_srli_epi32(e, 8), slot_mask), _mm256_set1_epi32(1));
  x = _mm256_add_epi32(_mm256_mullo_epi32(f, _mm256_srli_epi32(x, k_prob_bits)),
                       _mm256_srli_epi32(e, 20));
  // States are below 2^31, so the signed compare is the unsigned one.
  __m256i need = _mm256_cmpgt_epi32(_mm256_set1_epi32(k_low), x);
  unsigned m = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(need)));
  __m256i in = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wp)));
  in = _mm256_permutevar8x32_epi32(
      in, _mm256_load_si256(reinterpret_cast<const __m256i*>(k_expand.idx[m].data())));
  x = _mm256_blendv_epi8(x, _mm256_or_si256(_mm256_slli_epi32(x, 16), in), need);
  wp += 2 * std::popcount(m);
  return _mm256_and_si256(e, _mm256_set1_epi32(0xff));
}

// unkey(key(g) + unzigzag(z)) for 8 16-bit values in 32-bit lanes; the
// result is masked to 16 bits.
ZIPLLM_AVX2 inline __m256i undelta8(__m256i z, __m256i g) {
  const __m256i lo16 = _mm256_set1_epi32(0xffff);
  const __m256i sign = _mm256_set1_epi32(0x8000);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i zero = _mm256_setzero_si256();
  __m256i key =
      _mm256_xor_si256(g, _mm256_or_si256(_mm256_sub_epi32(zero, _mm256_srli_epi32(g, 15)), sign));
  __m256i dz =
      _mm256_xor_si256(_mm256_srli_epi32(z, 1), _mm256_sub_epi32(zero, _mm256_and_si256(z, one)));
  __m256i k = _mm256_and_si256(_mm256_add_epi32(key, dz), lo16);
  __m256i low = _mm256_or_si256(_mm256_sub_epi32(_mm256_srli_epi32(k, 15), one), sign);
  return _mm256_and_si256(_mm256_xor_si256(k, low), lo16);
}

ZIPLLM_AVX2 size_t avx2_blocks_w2(DecodeState& d, const DecodeTables& t, const ContextMap& map,
                                  const uint8_t* bp, uint8_t* op, size_t nfull) {
  const uint32_t* arena = t.arena.data();
  const int* exp_off = reinterpret_cast<const int*>(t.exp_off.data());
  const __m256i vshift = _mm256_set1_epi32(static_cast<int>(map.shift));
  const __m256i vemask = _mm256_set1_epi32(static_cast<int>(map.emask));
  const __m256i vpoison = _mm256_set1_epi32(static_cast<int>(t.poison_off));
  __m256i x[8];
  load_states(d.st.data(), x);
  const uint8_t* wp = d.wp;
  __m256i poisoned = _mm256_setzero_si256();
  size_t b = 0;
  // A step loads 8 words; a block reads at most 64, so 64 left suffice.
  for (; b < nfull && d.wend - wp >= 2 * 2 * int(k_lanes); ++b) {
    const uint8_t* gb = bp + b * 64;
    __m256i g[4], off[4], sym[2][4];
    for (int h = 0; h < 4; ++h) {
      g[h] = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(gb + 16 * h)));
      off[h] = _mm256_i32gather_epi32(exp_off,
                                      _mm256_and_si256(_mm256_srlv_epi32(g[h], vshift), vemask), 4);
      poisoned = _mm256_or_si256(poisoned, _mm256_cmpeq_epi32(off[h], vpoison));
    }
    for (int j = 0; j < 2; ++j) {
      for (int h = 0; h < 4; ++h) {
        sym[j][h] = rans_step8(x[4 * j + h], off[h], arena + j * k_prob, wp);
      }
    }
    __m256i r[4];
    for (int h = 0; h < 4; ++h) {
      r[h] = undelta8(_mm256_or_si256(sym[0][h], _mm256_slli_epi32(sym[1][h], 8)), g[h]);
    }
    // packus interleaves 128-bit halves; the permute puts them back in order.
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(op + b * 64),
                        _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), 0xD8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(op + b * 64 + 32),
                        _mm256_permute4x64_epi64(_mm256_packus_epi32(r[2], r[3]), 0xD8));
  }
  store_states(d.st.data(), x);
  d.wp = wp;
  d.poisoned |= !_mm256_testz_si256(poisoned, poisoned);
  return b;
}

#endif

template <class W>
Status decode_words(Kernel kernel, Bytes enc, size_t& pos, const uint8_t* base, size_t n,
                    const format::DtypeInfo& dt, uint8_t* out) {
  constexpr unsigned w = sizeof(W);
  const ContextMap map = TRY(read_context_map(enc, pos, dt));
  thread_local DecodeTables t;
  TRY_STATUS(read_tables(enc, pos, w, map, t));
  DecodeState d;
  if (enc.size() - pos < 4 * (w * k_lanes + 1)) {
    return make_error(Errc::Corrupt, "context coder: states truncated");
  }
  for (unsigned k = 0; k < w * k_lanes; ++k) {
    d.st[k] = get_u32(enc.data() + pos + 4 * k);
    if (d.st[k] < k_low || d.st[k] >= (1u << 31)) {
      return make_error(Errc::Corrupt, "context coder: state out of range");
    }
  }
  pos += 4 * w * k_lanes;
  const uint32_t nwords = get_u32(enc.data() + pos);
  pos += 4;
  if (nwords > (enc.size() - pos) / 2) {
    return make_error(Errc::Corrupt, "context coder: word stream runs past the chunk");
  }
  d.wp = enc.data() + pos;
  d.wend = d.wp + 2 * size_t(nwords);
  size_t b = 0;
#ifdef ZIPLLM_X86
  if constexpr (w == 2) {
    if (kernel == Kernel::Avx512) {
      b = t.blk_fits ? avx512_blocks_w2<true>(d, t, map, base, out, n / k_lanes)
                     : avx512_blocks_w2<false>(d, t, map, base, out, n / k_lanes);
    } else if (kernel == Kernel::Avx2) {
      b = avx2_blocks_w2(d, t, map, base, out, n / k_lanes);
    }
  }
#else
  (void)kernel;
#endif
  scalar_blocks<W>(d, t, map, base, out, b, n);
  if (d.short_stream) {
    return make_error(Errc::Corrupt, "context coder: word stream ends early");
  }
  if (d.poisoned) {
    return make_error(Errc::Corrupt,
                      "context coder: an element's context has no table (wrong base?)");
  }
  if (d.wp != d.wend) {
    return make_error(Errc::Corrupt, "context coder: words left over");
  }
  for (unsigned k = 0; k < w * k_lanes; ++k) {
    if (d.st[k] != k_low) {
      return make_error(Errc::Corrupt, "context coder: final state mismatch");
    }
  }
  pos += 2 * size_t(nwords);
  return {};
}

}  // namespace

EncSymbol make_symbol(uint32_t cum, uint32_t freq) {
  EncSymbol s;
  // After renormalisation x < freq * 2^19, so the step's result stays
  // below 2^31.
  s.cmpl = static_cast<uint16_t>(k_prob - freq);
  if (freq == 1) {
    // q = x - 1 (x >= 1): x + bias + (x - 1) * 4095 == 4096 x + cum.
    s.rcp = ~0u;
    s.shift = 0;
    s.bias = cum + k_prob - 1;
  } else {
    // shift = ceil(log2 freq); rcp = ceil(2^(31 + shift) / freq) < 2^32;
    // (x * rcp) >> (31 + shift) == x / freq for x < 2^31.
    uint32_t sh = 0;
    while (freq > (1u << sh)) {
      ++sh;
    }
    s.rcp = static_cast<uint32_t>(((uint64_t(1) << (sh + 31)) + freq - 1) / freq);
    s.shift = static_cast<uint16_t>(sh - 1);
    s.bias = cum;
  }
  return s;
}

void encode_with(Kernel k, const uint8_t* raw, const uint8_t* base, size_t n,
                 const format::DtypeInfo& dt, uint32_t threshold, std::vector<uint8_t>& out) {
  if (!kernel_available(k)) {
    k = Kernel::Scalar;
  }
  switch (dt.word) {
    case 1:
      return encode_words<uint8_t>(k, raw, base, n, dt, threshold, out);
    case 2:
      return encode_words<uint16_t>(k, raw, base, n, dt, threshold, out);
    case 4:
      return encode_words<uint32_t>(k, raw, base, n, dt, threshold, out);
    default:
      return encode_words<uint64_t>(k, raw, base, n, dt, threshold, out);
  }
}

void encode(const uint8_t* raw, const uint8_t* base, size_t n, const format::DtypeInfo& dt,
            uint32_t threshold, std::vector<uint8_t>& out) {
  encode_with(best_kernel(), raw, base, n, dt, threshold, out);
}

void cap_kernel(Kernel max) {
  g_kernel_cap.store(static_cast<int>(max), std::memory_order_relaxed);
}

bool kernel_available(Kernel k) {
  return static_cast<int>(k) <= static_cast<int>(best_kernel());
}

Status decode_with(Kernel k, Bytes enc, size_t& pos, const uint8_t* base, size_t n,
                   const format::DtypeInfo& dt, uint8_t* out) {
  if (!kernel_available(k)) {
    k = Kernel::Scalar;
  }
  switch (dt.word) {
    case 1:
      return decode_words<uint8_t>(k, enc, pos, base, n, dt, out);
    case 2:
      return decode_words<uint16_t>(k, enc, pos, base, n, dt, out);
    case 4:
      return decode_words<uint32_t>(k, enc, pos, base, n, dt, out);
    default:
      return decode_words<uint64_t>(k, enc, pos, base, n, dt, out);
  }
}

Status decode(Bytes enc, size_t& pos, const uint8_t* base, size_t n, const format::DtypeInfo& dt,
              uint8_t* out) {
  return decode_with(best_kernel(), enc, pos, base, n, dt, out);
}

}  // namespace zipllm::codec::ctx_rans
