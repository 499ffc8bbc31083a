// The context coder's AVX2 and AVX-512 kernels for 2-byte words (BF16,
// F16). Compiled on x86-64 only; each function carries its own target
// attribute, so the file builds without -mavx* flags and ctx_rans.cpp calls
// a kernel only when the CPU has it.
#include "codec/ctx_rans_impl.h"

#ifdef ZIPLLM_X86
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own
// "undefined" vectors (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <bit>

namespace zipllm::codec::ctx_rans::detail {

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

// The encoder's entries of sixteen (AVX2: eight) symbols, lanes 0-7 in g0
// and 8-15 in g1, by gathers or by scalar loads assembled into vectors:
// which is faster depends on the CPU (see use_gathers in ctx_rans.cpp).
template <bool Gather>
ZIPLLM_AVX512 inline void enc_entries16(__m512i at, const EncTables& et, __m512i& g0, __m512i& g1) {
  const auto* e = reinterpret_cast<const long long*>(et.entry.data());
  if constexpr (Gather) {
    g0 = _mm512_i32gather_epi64(_mm512_castsi512_si256(at), e, 8);
    g1 = _mm512_i32gather_epi64(_mm512_extracti64x4_epi64(at, 1), e, 8);
  } else {
    alignas(64) uint32_t a[16];
    _mm512_store_si512(a, at);
    g0 = _mm512_setr_epi64(e[a[0]], e[a[1]], e[a[2]], e[a[3]], e[a[4]], e[a[5]], e[a[6]], e[a[7]]);
    g1 = _mm512_setr_epi64(e[a[8]], e[a[9]], e[a[10]], e[a[11]], e[a[12]], e[a[13]], e[a[14]],
                           e[a[15]]);
  }
}

template <bool Gather>
ZIPLLM_AVX512 inline __m512i encode_step16(__m512i x, __m512i at, const EncTables& et,
                                           uint16_t*& p) {
  // Lanes 0-7 and 8-15's entries (rcp, packed pairs), then the rcps and
  // the packed words each in lane order.
  __m512i g0, g1;
  enc_entries16<Gather>(at, et, g0, g1);
  const __m512i rcp = _mm512_permutex2var_epi32(
      g0, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), g1);
  const __m512i pk = _mm512_permutex2var_epi32(
      g0, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), g1);
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
template <bool Gather>
ZIPLLM_AVX512 uint16_t* avx512_encode_blocks(const uint16_t* z, const uint16_t* row, size_t full,
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
    // (row * 2 + plane) * 256 + byte
    const __m512i c0 = _mm512_slli_epi32(
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i0))), 9);
    const __m512i c1 = _mm512_slli_epi32(
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i0 + 16))),
        9);
    const __m512i plane1 = _mm512_set1_epi32(256);
    x[3] = encode_step16<Gather>(
        x[3], _mm512_add_epi32(_mm512_add_epi32(c1, plane1), _mm512_srli_epi32(z1, 8)), et, p);
    x[2] = encode_step16<Gather>(
        x[2], _mm512_add_epi32(_mm512_add_epi32(c0, plane1), _mm512_srli_epi32(z0, 8)), et, p);
    x[1] = encode_step16<Gather>(x[1], _mm512_add_epi32(c1, _mm512_and_si512(z1, lo8)), et, p);
    x[0] = encode_step16<Gather>(x[0], _mm512_add_epi32(c0, _mm512_and_si512(z0, lo8)), et, p);
  }
  store_states(st, x);
  return p;
}

ZIPLLM_AVX512 uint16_t* avx512_encode_blocks_w2(const uint16_t* z, const uint16_t* row, size_t full,
                                                const EncTables& et, uint32_t* st, uint16_t* p,
                                                bool gather) {
  return gather ? avx512_encode_blocks<true>(z, row, full, et, st, p)
                : avx512_encode_blocks<false>(z, row, full, et, st, p);
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
                                 uint32_t emask, uint16_t* z, uint16_t* e, RowRange& rows) {
  const __m256i sign = _mm256_set1_epi16(static_cast<short>(0x8000));
  const __m256i vemask = _mm256_set1_epi16(static_cast<short>(emask));
  const __m128i vshift = _mm_cvtsi32_si128(static_cast<int>(shift));
  __m256i lo = _mm256_set1_epi16(-1), hi = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i f = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rp + 2 * i));
    const __m256i g = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + 2 * i));
    const __m256i kf = _mm256_xor_si256(f, _mm256_or_si256(_mm256_srai_epi16(f, 15), sign));
    const __m256i kg = _mm256_xor_si256(g, _mm256_or_si256(_mm256_srai_epi16(g, 15), sign));
    const __m256i d = _mm256_sub_epi16(kf, kg);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(z + i),
                        _mm256_xor_si256(_mm256_slli_epi16(d, 1), _mm256_srai_epi16(d, 15)));
    const __m256i r = _mm256_and_si256(_mm256_srl_epi16(g, vshift), vemask);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(e + i), r);
    lo = _mm256_min_epu16(lo, r);
    hi = _mm256_max_epu16(hi, r);
  }
  alignas(32) uint16_t l[16], h[16];
  _mm256_store_si256(reinterpret_cast<__m256i*>(l), lo);
  _mm256_store_si256(reinterpret_cast<__m256i*>(h), hi);
  for (unsigned k = 0; k < 16 && i > 0; ++k) {
    rows.add(l[k]);
    rows.add(h[k]);
  }
  return i;
}

template <bool Gather>
ZIPLLM_AVX2 inline void enc_entries8(__m256i at, const EncTables& et, __m256i& g0, __m256i& g1) {
  const auto* e = reinterpret_cast<const long long*>(et.entry.data());
  if constexpr (Gather) {
    g0 = _mm256_i32gather_epi64(e, _mm256_castsi256_si128(at), 8);
    g1 = _mm256_i32gather_epi64(e, _mm256_extracti128_si256(at, 1), 8);
  } else {
    alignas(32) uint32_t a[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(a), at);
    g0 = _mm256_setr_epi64x(e[a[0]], e[a[1]], e[a[2]], e[a[3]]);
    g1 = _mm256_setr_epi64x(e[a[4]], e[a[5]], e[a[6]], e[a[7]]);
  }
}

template <bool Gather>
ZIPLLM_AVX2 inline __m256i encode_step8(__m256i x, __m256i at, const EncTables& et, uint16_t*& p) {
  // Lanes 0-3 and 4-7's entries (rcp, packed pairs), then the rcps and the
  // packed words each in lane order.
  __m256i g0, g1;
  enc_entries8<Gather>(at, et, g0, g1);
  const __m256i split = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m256i s0 = _mm256_permutevar8x32_epi32(g0, split);  // rcp 0-3 | packed 0-3
  const __m256i s1 = _mm256_permutevar8x32_epi32(g1, split);  // rcp 4-7 | packed 4-7
  const __m256i rcp = _mm256_permute2x128_si256(s0, s1, 0x20);
  const __m256i pk = _mm256_permute2x128_si256(s0, s1, 0x31);
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

template <bool Gather>
ZIPLLM_AVX2 uint16_t* avx2_encode_blocks(const uint16_t* z, const uint16_t* row, size_t full,
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
      // (row * 2 + plane) * 256 + byte
      c[h] = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(
                                   reinterpret_cast<const __m128i*>(row + i0 + 8 * h))),
                               9);
    }
    for (int h = 3; h >= 0; --h) {
      x[4 + h] =
          encode_step8<Gather>(x[4 + h],
                               _mm256_add_epi32(_mm256_add_epi32(c[h], _mm256_set1_epi32(256)),
                                                _mm256_srli_epi32(zz[h], 8)),
                               et, p);
    }
    for (int h = 3; h >= 0; --h) {
      x[h] =
          encode_step8<Gather>(x[h], _mm256_add_epi32(c[h], _mm256_and_si256(zz[h], lo8)), et, p);
    }
  }
  store_states(st, x);
  return p;
}

ZIPLLM_AVX2 uint16_t* avx2_encode_blocks_w2(const uint16_t* z, const uint16_t* row, size_t full,
                                            const EncTables& et, uint32_t* st, uint16_t* p,
                                            bool gather) {
  return gather ? avx2_encode_blocks<true>(z, row, full, et, st, p)
                : avx2_encode_blocks<false>(z, row, full, et, st, p);
}

// Pass 1 of the encoder for 2-byte floats, 32 elements at a time: the
// zigzagged key difference and the base exponent. Returns the elements done.
ZIPLLM_AVX512 size_t avx512_delta_w2(const uint8_t* rp, const uint8_t* bp, size_t n, unsigned shift,
                                     uint32_t emask, uint16_t* z, uint16_t* e, RowRange& rows) {
  const __m512i sign = _mm512_set1_epi16(static_cast<short>(0x8000));
  const __m512i vemask = _mm512_set1_epi16(static_cast<short>(emask));
  const __m128i vshift = _mm_cvtsi32_si128(static_cast<int>(shift));
  __m512i lo = _mm512_set1_epi16(-1), hi = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i f = _mm512_loadu_si512(rp + 2 * i);
    const __m512i g = _mm512_loadu_si512(bp + 2 * i);
    const __m512i kf = _mm512_xor_si512(f, _mm512_or_si512(_mm512_srai_epi16(f, 15), sign));
    const __m512i kg = _mm512_xor_si512(g, _mm512_or_si512(_mm512_srai_epi16(g, 15), sign));
    const __m512i d = _mm512_sub_epi16(kf, kg);
    const __m512i zz = _mm512_xor_si512(_mm512_slli_epi16(d, 1), _mm512_srai_epi16(d, 15));
    _mm512_storeu_si512(z + i, zz);
    const __m512i r = _mm512_and_si512(_mm512_srl_epi16(g, vshift), vemask);
    _mm512_storeu_si512(e + i, r);
    lo = _mm512_min_epu16(lo, r);
    hi = _mm512_max_epu16(hi, r);
  }
  alignas(64) uint16_t l[32], h[32];
  _mm512_store_si512(l, lo);
  _mm512_store_si512(h, hi);
  for (unsigned k = 0; k < 32 && i > 0; ++k) {
    rows.add(l[k]);
    rows.add(h[k]);
  }
  return i;
}

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

// Eight 32-bit entries of `tab`, by gather or by scalar loads.
template <bool Gather>
ZIPLLM_AVX2 inline __m256i lookup8(const int* tab, __m256i idx) {
  if constexpr (Gather) {
    return _mm256_i32gather_epi32(tab, idx, 4);
  } else {
    alignas(32) uint32_t at[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(at), idx);
    return _mm256_setr_epi32(tab[at[0]], tab[at[1]], tab[at[2]], tab[at[3]], tab[at[4]], tab[at[5]],
                             tab[at[6]], tab[at[7]]);
  }
}

template <bool Gather>
ZIPLLM_AVX2 inline __m256i rans_step8(__m256i& x, __m256i off, const uint32_t* tab,
                                      const uint8_t*& wp) {
  const __m256i slot_mask = _mm256_set1_epi32(k_prob - 1);
  __m256i idx = _mm256_add_epi32(off, _mm256_and_si256(x, slot_mask));
  __m256i e = lookup8<Gather>(reinterpret_cast<const int*>(tab), idx);
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

template <bool Gather>
ZIPLLM_AVX2 size_t avx2_decode_blocks(DecodeState& d, const DecodeTables& t, const ContextMap& map,
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
      off[h] = lookup8<Gather>(exp_off, _mm256_and_si256(_mm256_srlv_epi32(g[h], vshift), vemask));
      poisoned = _mm256_or_si256(poisoned, _mm256_cmpeq_epi32(off[h], vpoison));
    }
    for (int j = 0; j < 2; ++j) {
      for (int h = 0; h < 4; ++h) {
        sym[j][h] = rans_step8<Gather>(x[4 * j + h], off[h], arena + j * k_prob, wp);
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

ZIPLLM_AVX2 size_t avx2_decode_blocks_w2(DecodeState& d, const DecodeTables& t,
                                         const ContextMap& map, const uint8_t* bp, uint8_t* op,
                                         size_t nfull, bool gather) {
  return gather ? avx2_decode_blocks<true>(d, t, map, bp, op, nfull)
                : avx2_decode_blocks<false>(d, t, map, bp, op, nfull);
}

ZIPLLM_AVX512 size_t avx512_decode_blocks_w2(DecodeState& d, const DecodeTables& t,
                                             const ContextMap& map, const uint8_t* bp, uint8_t* op,
                                             size_t nfull) {
  return t.blk_fits ? avx512_blocks_w2<true>(d, t, map, bp, op, nfull)
                    : avx512_blocks_w2<false>(d, t, map, bp, op, nfull);
}

}  // namespace zipllm::codec::ctx_rans::detail

#endif
