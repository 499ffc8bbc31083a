#include "codec/ctx_rans.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <string>

#include "codec/ctx_rans_impl.h"
#include "codec/ints.h"
#include "codec/words.h"
#include "util/buffer.h"

namespace zipllm::codec::ctx_rans {

using namespace detail;

namespace {

std::atomic<int> g_kernel_cap{static_cast<int>(Kernel::Neon)};

// The best kernel this CPU has.
Kernel hardware_kernel() {
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
#ifdef ZIPLLM_NEON
    k = Kernel::Neon;
#endif
    return k;
  }();
  return best;
}

// The best kernel this CPU has, within the cap (cap_kernel).
Kernel best_kernel() {
  const Kernel hw = hardware_kernel();
  const auto cap = static_cast<Kernel>(g_kernel_cap.load(std::memory_order_relaxed));
  if (cap == Kernel::Scalar) {
    return Kernel::Scalar;
  }
  if (cap == Kernel::Avx2 && hw == Kernel::Avx512) {
    return Kernel::Avx2;
  }
  return hw;
}

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

// Thread-local buffers of the encoder, reused from chunk to chunk (not
// zero-filled: every byte is written before it is read).
struct EncScratch {
  ScratchBytes z, exps, ctx, words;
};

template <class W>
void encode_words([[maybe_unused]] Kernel kernel, const uint8_t* rp, const uint8_t* bp, size_t n,
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
#ifdef ZIPLLM_NEON
  if constexpr (w == 2) {
    if (kernel == Kernel::Neon) {
      i = neon_delta_w2(rp, bp, n, shift, emask, reinterpret_cast<uint16_t*>(zs), es);
    }
  }
#endif
  for (; i < n; ++i) {
    W g = load_word<W>(bp + i * w);
    zs[i] = delta_word<W, true>(load_word<W>(rp + i * w), g);
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

constexpr uint8_t k_zero_word[2] = {0, 0};

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
      g[k] = load_word<W>(bp + (i0 + k) * w);
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
      store_word<W>(op + (i0 + k) * w, undelta_word<W, true>(z[k], g[k]));
    }
  }
  std::copy(st, st + d.st.size(), d.st.begin());
  d.wp = wp;
  d.short_stream |= short_stream;
  d.poisoned |= poisoned != 0;
}

template <class W>
Status decode_words([[maybe_unused]] Kernel kernel, ByteView enc, size_t& pos, const uint8_t* base,
                    size_t n, const format::DtypeInfo& dt, uint8_t* out) {
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
      b = avx512_decode_blocks_w2(d, t, map, base, out, n / k_lanes);
    } else if (kernel == Kernel::Avx2) {
      b = avx2_decode_blocks_w2(d, t, map, base, out, n / k_lanes);
    }
  }
#endif
#ifdef ZIPLLM_NEON
  if constexpr (w == 2) {
    if (kernel == Kernel::Neon) {
      b = neon_decode_blocks_w2(d, t, map, base, out, n / k_lanes);
    }
  }
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

Kernel active_kernel() {
  return best_kernel();
}

const char* kernel_name(Kernel k) {
  switch (k) {
    case Kernel::Avx512:
      return "avx512";
    case Kernel::Avx2:
      return "avx2";
    case Kernel::Neon:
      return "neon";
    case Kernel::Scalar:
      break;
  }
  return "scalar";
}

bool kernel_available(Kernel k) {
  const Kernel best = best_kernel();
  return k == Kernel::Scalar || k == best || (k == Kernel::Avx2 && best == Kernel::Avx512);
}

Status decode_with(Kernel k, ByteView enc, size_t& pos, const uint8_t* base, size_t n,
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

Status decode(ByteView enc, size_t& pos, const uint8_t* base, size_t n, const format::DtypeInfo& dt,
              uint8_t* out) {
  return decode_with(best_kernel(), enc, pos, base, n, dt, out);
}

}  // namespace zipllm::codec::ctx_rans
