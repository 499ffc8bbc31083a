// The context coder's NEON kernels for 2-byte words (BF16, F16) on 64-bit
// ARM, where Advanced SIMD is always there: the encoder's delta pass and the
// decoder's blocks. NEON has no gather, so the decoder looks its table
// entries up one lane at a time and does the rest four lanes at once: the
// state update, the renormalisation (each lane's word moved into place by a
// byte shuffle looked up from the lane mask) and the undelta. Same bytes
// as the scalar kernels (tests/cross-aarch64.sh checks them under qemu).
#include "codec/ctx_rans_impl.h"

#ifdef ZIPLLM_NEON
#include <arm_neon.h>

#include <array>
#include <bit>
#include <cstring>

namespace zipllm::codec::ctx_rans::detail {

namespace {

// For each 4-bit mask of lanes that read a word: the byte shuffle that
// moves word r (the r-th one read) to the low half of the lane of the r-th
// set bit; lanes that read nothing get zeros (index 0xff).
struct ExpandShuffles {
  alignas(16) std::array<std::array<uint8_t, 16>, 16> idx{};
  constexpr ExpandShuffles() {
    for (unsigned m = 0; m < 16; ++m) {
      unsigned r = 0;
      for (unsigned k = 0; k < 4; ++k) {
        for (unsigned b = 0; b < 4; ++b) {
          idx[m][4 * k + b] = 0xff;
        }
        if ((m >> k) & 1) {
          idx[m][4 * k] = static_cast<uint8_t>(2 * r);
          idx[m][4 * k + 1] = static_cast<uint8_t>(2 * r + 1);
          ++r;
        }
      }
    }
  }
};
constexpr ExpandShuffles k_expand{};

// One rANS step of four lanes; returns their symbols (entry & 0xff).
inline uint32x4_t rans_step4(uint32x4_t& x, const uint32_t* off, const uint32_t* tab,
                             const uint8_t*& wp) {
  const uint32x4_t slot_mask = vdupq_n_u32(k_prob - 1);
  const uint32x4_t slot = vandq_u32(x, slot_mask);
  alignas(16) uint32_t s[4];
  vst1q_u32(s, slot);
  alignas(16) const uint32_t ent[4] = {tab[off[0] + s[0]], tab[off[1] + s[1]], tab[off[2] + s[2]],
                                       tab[off[3] + s[3]]};
  const uint32x4_t e = vld1q_u32(ent);
  const uint32x4_t f = vaddq_u32(vandq_u32(vshrq_n_u32(e, 8), slot_mask), vdupq_n_u32(1));
  x = vmlaq_u32(vshrq_n_u32(e, 20), f, vshrq_n_u32(x, k_prob_bits));
  const uint32x4_t need = vcltq_u32(x, vdupq_n_u32(k_low));
  const uint32x4_t bits = {1, 2, 4, 8};
  const unsigned m = vaddvq_u32(vandq_u32(need, bits));
  // Four words loaded, each moved to the lane that reads it.
  const uint8x16_t words = vcombine_u8(vld1_u8(wp), vdup_n_u8(0));
  const uint32x4_t in = vreinterpretq_u32_u8(vqtbl1q_u8(words, vld1q_u8(k_expand.idx[m].data())));
  x = vbslq_u32(need, vorrq_u32(vshlq_n_u32(x, 16), in), x);
  wp += 2 * std::popcount(m);
  return vandq_u32(e, vdupq_n_u32(0xff));
}

// unkey(key(g) + unzigzag(z)) for 8 16-bit words.
inline uint16x8_t undelta8(uint16x8_t z, uint16x8_t g) {
  const uint16x8_t sign = vdupq_n_u16(0x8000);
  const uint16x8_t key = veorq_u16(
      g, vorrq_u16(vreinterpretq_u16_s16(vshrq_n_s16(vreinterpretq_s16_u16(g), 15)), sign));
  const uint16x8_t dz =
      veorq_u16(vshrq_n_u16(z, 1), vsubq_u16(vdupq_n_u16(0), vandq_u16(z, vdupq_n_u16(1))));
  const uint16x8_t k = vaddq_u16(key, dz);
  const uint16x8_t low = vorrq_u16(vsubq_u16(vshrq_n_u16(k, 15), vdupq_n_u16(1)), sign);
  return veorq_u16(k, low);
}

}  // namespace

size_t neon_delta_w2(const uint8_t* rp, const uint8_t* bp, size_t n, unsigned shift, uint32_t emask,
                     uint16_t* z, uint16_t* e, RowRange& rows) {
  const uint16x8_t sign = vdupq_n_u16(0x8000);
  const uint16x8_t vemask = vdupq_n_u16(static_cast<uint16_t>(emask));
  const int16x8_t vshift = vdupq_n_s16(static_cast<int16_t>(-static_cast<int>(shift)));
  uint16x8_t lo = vdupq_n_u16(0xffff), hi = vdupq_n_u16(0);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint16x8_t f = vreinterpretq_u16_u8(vld1q_u8(rp + 2 * i));
    const uint16x8_t g = vreinterpretq_u16_u8(vld1q_u8(bp + 2 * i));
    const uint16x8_t kf = veorq_u16(
        f, vorrq_u16(vreinterpretq_u16_s16(vshrq_n_s16(vreinterpretq_s16_u16(f), 15)), sign));
    const uint16x8_t kg = veorq_u16(
        g, vorrq_u16(vreinterpretq_u16_s16(vshrq_n_s16(vreinterpretq_s16_u16(g), 15)), sign));
    const uint16x8_t d = vsubq_u16(kf, kg);
    vst1q_u16(z + i, veorq_u16(vshlq_n_u16(d, 1),
                               vreinterpretq_u16_s16(vshrq_n_s16(vreinterpretq_s16_u16(d), 15))));
    const uint16x8_t r = vandq_u16(vshlq_u16(g, vshift), vemask);
    vst1q_u16(e + i, r);
    lo = vminq_u16(lo, r);
    hi = vmaxq_u16(hi, r);
  }
  if (i > 0) {
    rows.add(vminvq_u16(lo));
    rows.add(vmaxvq_u16(hi));
  }
  return i;
}

size_t neon_decode_blocks_w2(DecodeState& d, const DecodeTables& t, const ContextMap& map,
                             const uint8_t* bp, uint8_t* op, size_t nfull) {
  const uint32_t* arena = t.arena.data();
  const uint32_t* exp_off = t.exp_off.data();
  const unsigned shift = map.shift;
  const uint32_t emask = map.emask;
  const uint32_t poison = t.poison_off;
  uint32x4_t x[16];  // plane j's lanes 4h .. 4h+3 in x[8j + h]
  for (int k = 0; k < 16; ++k) {
    x[k] = vld1q_u32(d.st.data() + 4 * k);
  }
  const uint8_t* wp = d.wp;
  uint32_t poisoned = 0;
  size_t b = 0;
  // A step loads 4 words and has read at most 4 per step before it: a
  // block's last load ends within the 64 words a block may read.
  for (; b < nfull && d.wend - wp >= 2 * 2 * ptrdiff_t(k_lanes); ++b) {
    const uint8_t* gb = bp + b * 64;
    alignas(16) uint16_t g[k_lanes];
    alignas(16) uint32_t off[k_lanes];
    std::memcpy(g, gb, sizeof(g));
    for (unsigned k = 0; k < k_lanes; ++k) {
      off[k] = exp_off[(uint32_t(g[k]) >> shift) & emask];
      poisoned |= off[k] == poison;
    }
    uint32x4_t sym[2][8];
    for (int j = 0; j < 2; ++j) {
      for (int h = 0; h < 8; ++h) {
        sym[j][h] = rans_step4(x[8 * j + h], off + 4 * h, arena + j * k_prob, wp);
      }
    }
    for (int h = 0; h < 4; ++h) {
      const uint16x8_t lo = vcombine_u16(vmovn_u32(sym[0][2 * h]), vmovn_u32(sym[0][2 * h + 1]));
      const uint16x8_t hi = vcombine_u16(vmovn_u32(sym[1][2 * h]), vmovn_u32(sym[1][2 * h + 1]));
      const uint16x8_t z = vorrq_u16(lo, vshlq_n_u16(hi, 8));
      vst1q_u8(op + b * 64 + 16 * h, vreinterpretq_u8_u16(undelta8(z, vld1q_u16(g + 8 * h))));
    }
  }
  for (int k = 0; k < 16; ++k) {
    vst1q_u32(d.st.data() + 4 * k, x[k]);
  }
  d.wp = wp;
  d.poisoned |= poisoned != 0;
  return b;
}

}  // namespace zipllm::codec::ctx_rans::detail

#endif
