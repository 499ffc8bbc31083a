#include "codec/ctx_rans.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <string>

#include "codec/ctx_rans_impl.h"
#include "codec/ints.h"
#include "codec/words.h"
#include "util/buffer.h"

namespace zipllm::codec::ctx_rans {

using namespace detail;

namespace {

std::atomic<int> g_kernel_cap{static_cast<int>(Kernel::Neon)};
std::atomic<int> g_lookup{static_cast<int>(Lookup::Auto)};

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
uint16_t* scalar_encode_blocks(const W* z, const uint16_t* row, size_t n, size_t from, size_t to,
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
        const size_t at = (size_t(row[i]) * w + j) * 256 + static_cast<uint8_t>(z[i] >> (8 * j));
        const uint64_t e = et.entry[at];
        const uint32_t pk = EncTables::packed(e);
        const uint32_t freq = pk & 0x1fff;
        uint32_t x = s[k];
        emit[k] = x >= freq << (31 - k_prob_bits);
        word[k] = static_cast<uint16_t>(x);
        x >>= emit[k] * 16;
        const uint32_t q =
            static_cast<uint32_t>((uint64_t(x) * EncTables::rcp(e)) >> 32) >> (pk >> 13 & 15);
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
// zero-filled: every byte is written before it is read, and the histogram
// rows are zeroed as they come into use).
struct EncScratch {
  ScratchBytes z, rows, words;
  std::vector<uint32_t> hist;
  EncTables et;  // only the rows a chunk uses are written and read
};

// The encoder works with "rows" rather than contexts: an element's row is
// its base exponent, so counting and coding need no context lookup per
// element (the contexts are chosen from the counts, after the pass). F64's
// 2048 exponents do not fit a byte: its rows are the 255 exponents from
// `lo` on, and row 255 stands for all others (they share context 0, so the
// encoder lists no exponent outside the window).
constexpr unsigned k_rows = 256;
constexpr unsigned k_other_row = 255;

struct RowWindow {
  uint32_t lo = 0;
  bool wide = false;  // more exponents than rows
  uint16_t row(uint32_t e) const {
    if (!wide) {
      return static_cast<uint16_t>(e);
    }
    const uint32_t r = e - lo;
    return static_cast<uint16_t>(r < k_other_row ? r : k_other_row);
  }
  bool is_exponent_row(unsigned r) const { return !wide || r < k_other_row; }
};

// Elements go through the delta pass and the histogram in sub-blocks that
// stay in the L1/L2 cache, so the counts do not re-read the chunk's delta
// words from memory (they did: three more passes over 6-8 MiB per 4 MiB
// chunk).
constexpr size_t k_sub_block = 16384;

template <class W>
void encode_words([[maybe_unused]] Kernel kernel, const uint8_t* rp, const uint8_t* bp, size_t n,
                  const format::DtypeInfo& dt, uint32_t threshold, std::vector<uint8_t>& out) {
  constexpr unsigned w = sizeof(W);
  const unsigned shift = dt.mant_bits;
  const uint32_t emask = (1u << dt.exp_bits) - 1;
  thread_local EncScratch sc;
  sc.z.resize(n * w);
  sc.rows.resize(n * 2);
  W* __restrict zs = reinterpret_cast<W*>(sc.z.data());
  uint16_t* __restrict es = reinterpret_cast<uint16_t*>(sc.rows.data());
  RowWindow win;
  if (emask >= k_rows && n > 0) {
    // Centred on the first element's exponent; trained weights span far
    // fewer than 255 exponents.
    const uint32_t e0 = static_cast<uint32_t>(load_word<W>(bp) >> shift) & emask;
    win.wide = true;
    win.lo = std::min(e0 > 127 ? e0 - 127 : 0, emask + 1 - k_other_row);
  }
  // Counts per row, plane and byte, in two copies (even and odd elements)
  // so a run of one symbol does not serialise on one counter; rows
  // [zlo, zhi) are zeroed so far.
  constexpr size_t row_size = size_t(w) * 256;
  constexpr size_t copy_size = k_rows * row_size;
  sc.hist.resize(2 * copy_size);
  uint32_t* __restrict h0 = sc.hist.data();
  uint32_t* __restrict h1 = sc.hist.data() + copy_size;
  unsigned zlo = 0, zhi = 0;
  for (size_t s = 0; s < n; s += k_sub_block) {
    const size_t end = std::min(n, s + k_sub_block);
    // Delta words and base exponents (rows), and the range of rows.
    size_t i = s;
    RowRange used;
#ifdef ZIPLLM_X86
    if constexpr (w == 2) {
      if (kernel == Kernel::Avx512) {
        i += avx512_delta_w2(rp + 2 * s, bp + 2 * s, end - s, shift, emask,
                             reinterpret_cast<uint16_t*>(zs) + s, es + s, used);
      } else if (kernel == Kernel::Avx2) {
        i += avx2_delta_w2(rp + 2 * s, bp + 2 * s, end - s, shift, emask,
                           reinterpret_cast<uint16_t*>(zs) + s, es + s, used);
      }
    }
#endif
#ifdef ZIPLLM_NEON
    if constexpr (w == 2) {
      if (kernel == Kernel::Neon) {
        i += neon_delta_w2(rp + 2 * s, bp + 2 * s, end - s, shift, emask,
                           reinterpret_cast<uint16_t*>(zs) + s, es + s, used);
      }
    }
#endif
    for (; i < end; ++i) {
      W g = load_word<W>(bp + i * w);
      zs[i] = delta_word<W, true>(load_word<W>(rp + i * w), g);
      es[i] = win.row(static_cast<uint32_t>(g >> shift) & emask);
      used.add(es[i]);
    }
    // The rows this sub-block uses, zeroed if new.
    const unsigned lo = used.lo, hi = used.hi;
    if (zlo == zhi) {
      zlo = zhi = lo;
    }
    for (auto [from, to] : {std::pair<unsigned, unsigned>{lo, zlo}, {zhi, hi + 1u}}) {
      if (from < to) {
        std::fill(h0 + from * row_size, h0 + to * row_size, 0u);
        std::fill(h1 + from * row_size, h1 + to * row_size, 0u);
      }
    }
    zlo = std::min(zlo, lo);
    zhi = std::max(zhi, hi + 1u);
    // Counted while the sub-block is in the cache.
    size_t k = s;
    for (; k + 1 < end; k += 2) {
      const size_t r0 = size_t(es[k]) * row_size, r1 = size_t(es[k + 1]) * row_size;
      for (unsigned j = 0; j < w; ++j) {
        h0[r0 + j * 256 + static_cast<uint8_t>(zs[k] >> (8 * j))]++;
        h1[r1 + j * 256 + static_cast<uint8_t>(zs[k + 1] >> (8 * j))]++;
      }
    }
    for (; k < end; ++k) {
      const size_t r0 = size_t(es[k]) * row_size;
      for (unsigned j = 0; j < w; ++j) {
        h0[r0 + j * 256 + static_cast<uint8_t>(zs[k] >> (8 * j))]++;
      }
    }
  }
  // Rows' totals (plane 0 counts every element once); the two copies
  // summed into the first.
  std::array<uint64_t, k_rows> count{};
  for (unsigned r = zlo; r < zhi; ++r) {
    uint32_t* row = h0 + r * row_size;
    const uint32_t* row1 = h1 + r * row_size;
    for (size_t v = 0; v < row_size; ++v) {
      row[v] += row1[v];
    }
    for (unsigned v = 0; v < 256; ++v) {
      count[r] += row[v];
    }
  }
  // The exponents with their own context.
  std::vector<uint16_t> exps;
  for (unsigned r = zlo; r < zhi && exps.size() + 1 < k_max_contexts; ++r) {
    if (threshold > 0 && win.is_exponent_row(r) && count[r] >= threshold) {
      exps.push_back(static_cast<uint16_t>(win.lo + r));
    }
  }
  put_varint(out, exps.size());
  for (uint16_t e : exps) {
    put_varint(out, e);
  }
  const ContextMap map = make_context_map(dt, exps);
  const unsigned nc = map.contexts;
  // Each row's context (the other row: context 0).
  std::array<uint8_t, k_rows> ctx_of_row{};
  for (unsigned r = zlo; r < zhi; ++r) {
    ctx_of_row[r] = win.is_exponent_row(r) ? map.ctx_of[win.lo + r] : 0;
  }
  std::vector<uint32_t> hist(size_t(nc) * row_size, 0);
  for (unsigned r = zlo; r < zhi; ++r) {
    if (count[r] == 0) {
      continue;
    }
    uint32_t* to = hist.data() + ctx_of_row[r] * row_size;
    const uint32_t* row = h0 + r * row_size;
    for (size_t v = 0; v < row_size; ++v) {
      to[v] += row[v];
    }
  }
  // The contexts' tables, then copied to every row in use.
  std::vector<uint64_t> ctx_entries(size_t(nc) * row_size, 0);
  EncTables& et = sc.et;
  et.entry.resize(k_rows * row_size);
  std::array<uint32_t, 256> freq{};
  for (unsigned c = 0; c < nc; ++c) {
    uint64_t total = 0;
    for (unsigned s = 0; s < 256; ++s) {
      total += hist[size_t(c) * row_size + s];
    }
    for (unsigned j = 0; j < w; ++j) {
      const uint32_t* cnt = hist.data() + size_t(c) * row_size + j * 256;
      if (total == 0) {
        put_varint(out, 0);
        continue;
      }
      normalize(cnt, total, freq.data());
      put_table(freq.data(), out);
      uint32_t cum = 0;
      for (unsigned s = 0; s < 256; ++s) {
        if (freq[s]) {
          ctx_entries[size_t(c) * row_size + j * 256 + s] =
              EncTables::make(make_symbol(cum, freq[s]), freq[s]);
          cum += freq[s];
        }
      }
    }
  }
  for (unsigned r = zlo; r < zhi; ++r) {
    if (count[r] > 0) {
      std::copy_n(ctx_entries.data() + ctx_of_row[r] * row_size, row_size,
                  et.entry.data() + r * row_size);
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
  p = scalar_encode_blocks<W>(zs, es, n, full, (n + k_lanes - 1) / k_lanes, et, st.data(), p);
  size_t left = full;
#ifdef ZIPLLM_X86
  if constexpr (w == 2) {
    if (kernel == Kernel::Avx512) {
      p = avx512_encode_blocks_w2(reinterpret_cast<const uint16_t*>(zs), es, full, et, st.data(), p,
                                  use_gathers());
      left = 0;
    } else if (kernel == Kernel::Avx2) {
      p = avx2_encode_blocks_w2(reinterpret_cast<const uint16_t*>(zs), es, full, et, st.data(), p,
                                use_gathers());
      left = 0;
    }
  }
#endif
  p = scalar_encode_blocks<W>(zs, es, n, 0, left, et, st.data(), p);
  for (unsigned k = 0; k < w * k_lanes; ++k) {
    put_u32(out, st[k]);
  }
  const size_t nwords = static_cast<size_t>(words_end - p);
  put_u32(out, static_cast<uint32_t>(nwords));
  const size_t at = out.size();
  out.resize(at + 2 * nwords);
  uint8_t* __restrict o = out.data() + at;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(o, p, 2 * nwords);
  } else {
    for (size_t k = 0; k < nwords; ++k) {
      o[2 * k] = static_cast<uint8_t>(p[k]);
      o[2 * k + 1] = static_cast<uint8_t>(p[k] >> 8);
    }
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
      b = avx2_decode_blocks_w2(d, t, map, base, out, n / k_lanes, use_gathers());
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

void set_lookup(Lookup how) {
  g_lookup.store(static_cast<int>(how), std::memory_order_relaxed);
}

bool use_gathers() {
  switch (static_cast<Lookup>(g_lookup.load(std::memory_order_relaxed))) {
    case Lookup::Gather:
      return true;
    case Lookup::Loads:
      return false;
    case Lookup::Auto:
      break;
  }
#ifdef ZIPLLM_X86
  static const bool amd = __builtin_cpu_is("amd");
  return !amd;
#else
  return false;
#endif
}

void apply_settings(std::string_view simd, std::string_view gather) {
  if (simd == "scalar" || simd == "avx2") {
    cap_kernel(simd == "scalar" ? Kernel::Scalar : Kernel::Avx2);
  }
  if (gather == "on" || gather == "off") {
    set_lookup(gather == "on" ? Lookup::Gather : Lookup::Loads);
  }
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
