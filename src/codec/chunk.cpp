#include "codec/chunk.h"

#include <array>
#include <cstring>
#include <memory>

#include "codec/adaptive.h"
#include "codec/buckets.h"
#include "codec/ctx_rans.h"
#include "codec/ints.h"
#include "codec/words.h"

namespace zipllm::codec {

namespace {

using buckets::Buckets;
using buckets::k_quarters;
using format::DtypeInfo;

// memcpy that accepts empty (possibly null) ranges.
void copy_bytes(uint8_t* dst, const uint8_t* src, size_t n) {
  if (n) {
    std::memcpy(dst, src, n);
  }
}

template <class W>
W rotl1(W x) {
  return W(W(x << 1) | W(x >> (8 * sizeof(W) - 1)));
}

template <class W>
W rotr1(W x) {
  return W(W(x >> 1) | W(x << (8 * sizeof(W) - 1)));
}

// Bucketed chunks of at least this many elements are written as mode 4.
constexpr size_t k_table_min_elements = 65536;

// w byte planes of n bytes each, in one allocation that is not zero-filled
// (every byte is written before it is read).
struct Planes {
  Planes(size_t words, size_t count) : bytes(new uint8_t[words * count]), w(words), n(count) {}
  uint8_t* operator[](size_t j) { return bytes.get() + j * n; }
  const uint8_t* operator[](size_t j) const { return bytes.get() + j * n; }
  std::unique_ptr<uint8_t[]> bytes;
  size_t w, n;
};

// Encodes `planes` (already in bucket order) as one record per non-empty
// bucket per plane.
void encode_planes(const Planes& planes, const std::vector<uint32_t>& counts, const Policy& policy,
                   std::vector<uint8_t>& out) {
  for (size_t j = 0; j < planes.w; ++j) {
    size_t off = 0;
    for (uint32_t c : counts) {
      if (c) {
        encode_stream(ByteView(planes[j] + off, c), policy, out);
      }
      off += c;
    }
  }
}

Status decode_planes(ByteView enc, size_t& pos, Planes& planes,
                     const std::vector<uint32_t>& counts) {
  for (size_t j = 0; j < planes.w; ++j) {
    size_t off = 0;
    for (uint32_t c : counts) {
      if (c) {
        TRY_STATUS(decode_stream_to(enc, pos, std::span<uint8_t>(planes[j] + off, c)));
      }
      off += c;
    }
  }
  return {};
}

template <class W>
void solo_encode(ByteView raw, const DtypeInfo& dt, const Policy& policy,
                 std::vector<uint8_t>& out) {
  constexpr size_t w = sizeof(W);
  const size_t n = raw.size() / w;
  const bool is_float = dt.exp_bits > 0;
  Planes planes(w, n);
  for (size_t i = 0; i < n; ++i) {
    W x = load_word<W>(raw.data() + i * w);
    if (is_float) {
      x = rotl1(x);  // sign to bit 0: the top byte is then all exponent (BF16, F32)
    }
    for (size_t j = 0; j < w; ++j) {
      planes[j][i] = static_cast<uint8_t>(x >> (8 * j));
    }
  }
  out.push_back(static_cast<uint8_t>(ChunkMode::Solo));
  encode_planes(planes, {static_cast<uint32_t>(n)}, policy, out);
  encode_stream(raw.subspan(n * w), Policy{false, false, false}, out);
}

template <class W>
Status solo_decode(ByteView enc, size_t pos, const DtypeInfo& dt, std::span<uint8_t> out) {
  constexpr size_t w = sizeof(W);
  const size_t n = out.size() / w;
  const bool is_float = dt.exp_bits > 0;
  Planes planes(w, n);
  TRY_STATUS(decode_planes(enc, pos, planes, {static_cast<uint32_t>(n)}));
  for (size_t i = 0; i < n; ++i) {
    W x = 0;
    for (size_t j = 0; j < w; ++j) {
      x = W(x | W(W(planes[j][i]) << (8 * j)));
    }
    store_word<W>(out.data() + i * w, is_float ? rotr1(x) : x);
  }
  std::vector<uint8_t> rest;
  TRY_STATUS(decode_stream(enc, pos, rest, out.size() - n * w));
  copy_bytes(out.data() + n * w, rest.data(), rest.size());
  if (pos != enc.size()) {
    return make_error(Errc::Corrupt, "trailing bytes after solo chunk");
  }
  return {};
}

// The rest of a delta chunk (bytes past the last whole word) is XORed with
// the base's.
std::vector<uint8_t> delta_rest(ByteView raw, ByteView base, size_t whole) {
  std::vector<uint8_t> rest(raw.begin() + static_cast<std::ptrdiff_t>(whole), raw.end());
  for (size_t k = 0; k < rest.size(); ++k) {
    rest[k] ^= base[whole + k];
  }
  return rest;
}

template <class W>
void delta_encode(ByteView raw, ByteView base, const DtypeInfo& dt, uint32_t threshold,
                  const Policy& policy, std::vector<uint8_t>& out) {
  constexpr size_t w = sizeof(W);
  const size_t n = raw.size() / w;
  const bool is_float = dt.exp_bits > 0;
  if (!is_float) {
    threshold = 0;
  }
  if (threshold > 0 && n >= k_table_min_elements && w == 2) {
    // Large bucketed chunks of 2-byte words (BF16, F16): the context coder
    // (mode 5), the sub-streams' statistics without sorting the words.
    // Wider words keep mode 4: the context coder's vector kernel is for
    // 2-byte words only, and its scalar one is slower than mode 4.
    out.push_back(static_cast<uint8_t>(ChunkMode::DeltaContext));
    ctx_rans::encode(raw.data(), base.data(), n, dt, threshold, out);
    encode_stream(delta_rest(raw, base, n * w), Policy{false, false, false}, out);
    return;
  }
  Buckets b = buckets::make_buckets<W>(base.data(), n, dt, threshold);
  Planes planes(w, n);
  // Raw pointers with __restrict: byte stores may alias anything, and
  // without them the compiler reloads every pointer per element.
  // Words go to their bucket-sorted position in one store; the planes are
  // then split off sequentially (fast, vectorizable).
  std::unique_ptr<W[]> sorted(new W[n]);  // every position is written once below
  W* __restrict zs = sorted.get();
  const uint16_t* __restrict bucket_of = b.bucket_of.data();
  const uint8_t* __restrict rp = raw.data();
  const uint8_t* __restrict bp = base.data();
  const bool bucketed = !b.bucket_of.empty();
  const unsigned shift = b.shift;
  const uint32_t emask = b.emask;
  const auto lane_start = b.lane_next;
  buckets::for_each_lane(b, n, [&](size_t i, uint32_t* __restrict next) {
    W f = load_word<W>(rp + i * w);
    W g = load_word<W>(bp + i * w);
    uint32_t p = static_cast<uint32_t>(i);
    if (bucketed) {
      p = next[bucket_of[static_cast<uint32_t>(g >> shift) & emask]]++;
    }
    zs[p] = is_float ? delta_word<W, true>(f, g) : delta_word<W, false>(f, g);
  });
  for (size_t j = 0; j < w; ++j) {
    uint8_t* __restrict pl = planes[j];
    for (size_t i = 0; i < n; ++i) {
      pl[i] = static_cast<uint8_t>(zs[i] >> (8 * j));
    }
  }
  // Other large bucketed chunks carry their bucket table (mode 4), so the
  // decoder need not histogram the base first. Small ones keep the
  // threshold form (mode 2): there the table costs more bytes (+0.8 % on
  // stories260K) than the histogram costs time.
  if (bucketed && n >= k_table_min_elements) {
    out.push_back(static_cast<uint8_t>(ChunkMode::DeltaBuckets));
    buckets::put_bucket_table(b, lane_start, out);
  } else {
    out.push_back(static_cast<uint8_t>(ChunkMode::Delta));
    put_u32(out, bucketed ? threshold : 0);
  }
  encode_planes(planes, b.counts, policy, out);
  encode_stream(delta_rest(raw, base, n * w), Policy{false, false, false}, out);
}

// out[i] = base[i] + unzigzag(d[i]), in key space for floats; d is read
// from `out` (in place). Independent per element, so it vectorizes.
template <class W, bool Float>
void apply_delta(const uint8_t* __restrict bp, uint8_t* __restrict op, size_t n) {
  constexpr size_t w = sizeof(W);
  for (size_t i = 0; i < n; ++i) {
    store_word<W>(op + i * w,
                  undelta_word<W, Float>(load_word<W>(op + i * w), load_word<W>(bp + i * w)));
  }
}

// Delta decode from the bucket-sorted delta words `zs`: first each element's
// word is fetched from the next position of its bucket (the only serial
// part: one cursor step per element, four lanes running their chains side
// by side), then added to the base (vectorized). Done in blocks, so a
// block's base and output bytes are still in cache for the second step
// (measured: 10 % faster than two whole-chunk passes).
template <class W, bool Float>
void unsort_apply(const uint8_t* __restrict bp, const W* __restrict zs, uint8_t* __restrict op,
                  size_t n, Buckets& b) {
  constexpr size_t w = sizeof(W);
  constexpr size_t k_block = 8192;  // elements per lane per block
  // Everything in locals: output stores are byte stores, which may alias
  // any memory the compiler cannot prove private (captured variables were
  // reloaded after every store).
  const uint16_t* __restrict bucket_of = b.bucket_of.data();
  const unsigned shift = b.shift;
  const uint32_t emask = b.emask;
  uint32_t* __restrict c0 = b.lane_next[0].data();
  uint32_t* __restrict c1 = b.lane_next[1].data();
  uint32_t* __restrict c2 = b.lane_next[2].data();
  uint32_t* __restrict c3 = b.lane_next[3].data();
  const size_t q = b.quarter;
  const size_t qw = q * w;
  auto key = [=](const uint8_t* p) {
    return (static_cast<uint32_t>(load_word<W>(p) >> shift)) & emask;
  };
  for (size_t t0 = 0; t0 < q; t0 += k_block) {
    const size_t t1 = std::min(q, t0 + k_block);
    for (size_t t = t0; t < t1; ++t) {
      const size_t o = t * w;
      W z0 = zs[c0[bucket_of[key(bp + o)]]++];
      W z1 = zs[c1[bucket_of[key(bp + qw + o)]]++];
      W z2 = zs[c2[bucket_of[key(bp + 2 * qw + o)]]++];
      W z3 = zs[c3[bucket_of[key(bp + 3 * qw + o)]]++];
      store_word<W>(op + o, z0);
      store_word<W>(op + qw + o, z1);
      store_word<W>(op + 2 * qw + o, z2);
      store_word<W>(op + 3 * qw + o, z3);
    }
    for (size_t lane = 0; lane < k_quarters; ++lane) {
      const size_t at = lane * qw + t0 * w;
      apply_delta<W, Float>(bp + at, op + at, t1 - t0);
    }
  }
  const size_t tail = k_quarters * q;
  for (size_t i = tail; i < n; ++i) {
    store_word<W>(op + i * w, zs[c3[bucket_of[key(bp + i * w)]]++]);
  }
  apply_delta<W, Float>(bp + tail * w, op + tail * w, n - tail);
}

// The rest record of modes 2, 4 and 5, and the check that nothing follows it.
Status rest_decode(ByteView enc, size_t pos, ByteView base, const DtypeInfo& dt,
                   std::span<uint8_t> out) {
  const size_t n = out.size() / dt.word;
  std::vector<uint8_t> rest;
  TRY_STATUS(decode_stream(enc, pos, rest, out.size() - n * dt.word));
  for (size_t k = 0; k < rest.size(); ++k) {
    out[n * dt.word + k] = rest[k] ^ base[n * dt.word + k];
  }
  if (pos != enc.size()) {
    return make_error(Errc::Corrupt, "trailing bytes after delta chunk");
  }
  return {};
}

// Mode 2 (threshold, buckets recomputed from the base) and mode 4 (bucket
// table in the chunk).
template <class W>
Status delta_decode(ByteView enc, size_t pos, ByteView base, const DtypeInfo& dt,
                    std::span<uint8_t> out, bool with_table) {
  constexpr size_t w = sizeof(W);
  const size_t n = out.size() / w;
  const bool is_float = dt.exp_bits > 0;
  Buckets b;
  if (with_table) {
    b = TRY(buckets::read_bucket_table(enc, pos, n, dt));
  } else {
    if (enc.size() - pos < 4) {
      return make_error(Errc::Corrupt, "delta chunk truncated");
    }
    uint32_t threshold = get_u32(enc.data() + pos);
    pos += 4;
    b = buckets::make_buckets<W>(base.data(), n, dt, threshold);
  }
  const auto lane_start = b.lane_next;
  Planes planes(w, n);
  TRY_STATUS(decode_planes(enc, pos, planes, b.counts));
  // Join the planes into whole words (sequential, fast): in bucket order
  // when bucketed, else straight into place.
  std::unique_ptr<W[]> sorted;
  const bool bucketed = !b.bucket_of.empty();
  uint8_t* words = out.data();
  if (bucketed) {
    // A table that does not match the base makes a quarter's cursor run
    // past its region, by at most the quarter's length: padding keeps
    // those reads inside the buffer; lanes_consumed() rejects the chunk.
    const size_t pad = with_table ? n - (k_quarters - 1) * b.quarter + 1 : 0;
    sorted.reset(new W[n + pad]);  // every word below n is assigned below
    std::fill(sorted.get() + n, sorted.get() + n + pad, W(0));
    words = reinterpret_cast<uint8_t*>(sorted.get());
  }
  {
    const uint8_t* __restrict pl = planes[0];
    uint8_t* __restrict dst = words;
    for (size_t i = 0; i < n; ++i) {
      store_word<W>(dst + i * w, W(pl[i]));
    }
  }
  for (size_t j = 1; j < w; ++j) {
    const uint8_t* __restrict pl = planes[j];
    uint8_t* __restrict dst = words;
    for (size_t i = 0; i < n; ++i) {
      store_word<W>(dst + i * w, W(load_word<W>(dst + i * w) | W(W(pl[i]) << (8 * j))));
    }
  }
  if (bucketed && is_float) {
    unsort_apply<W, true>(base.data(), sorted.get(), out.data(), n, b);
  } else if (bucketed) {
    unsort_apply<W, false>(base.data(), sorted.get(), out.data(), n, b);
  } else if (is_float) {
    apply_delta<W, true>(base.data(), out.data(), n);
  } else {
    apply_delta<W, false>(base.data(), out.data(), n);
  }
  if (with_table && !buckets::lanes_consumed(b, lane_start)) {
    return make_error(Errc::Corrupt, "delta chunk's bucket table does not match its base");
  }
  return rest_decode(enc, pos, base, dt, out);
}

// Mode 5: the context coder's payload (its context list first), then the
// rest.
Status context_decode(ByteView enc, size_t pos, ByteView base, const DtypeInfo& dt,
                      std::span<uint8_t> out) {
  TRY_STATUS(ctx_rans::decode(enc, pos, base.data(), out.size() / dt.word, dt, out.data()));
  return rest_decode(enc, pos, base, dt, out);
}

// Mode 6: the adaptive coder's payload, then the rest.
Status adaptive_decode(ByteView enc, size_t pos, ByteView base, const DtypeInfo& dt,
                       std::span<uint8_t> out) {
  const size_t whole = out.size() / dt.word * dt.word;
  TRY_STATUS(adaptive::decode(enc, pos, base.data(), whole / dt.word, dt, out.data()));
  // The rest, XORed with the base's, as it is (no record).
  if (enc.size() - pos != out.size() - whole) {
    return make_error(Errc::Corrupt, "adaptive delta chunk's rest has the wrong length");
  }
  for (size_t k = whole; k < out.size(); ++k) {
    out[k] = enc[pos++] ^ base[k];
  }
  return {};
}

template <template <class> class F, class... Args>
auto by_word(const DtypeInfo& dt, Args&&... args) {
  switch (dt.word) {
    case 2:
      return F<uint16_t>::run(std::forward<Args>(args)...);
    case 4:
      return F<uint32_t>::run(std::forward<Args>(args)...);
    case 8:
      return F<uint64_t>::run(std::forward<Args>(args)...);
    default:
      return F<uint8_t>::run(std::forward<Args>(args)...);
  }
}

template <class W>
struct SoloEnc {
  static void run(ByteView raw, const DtypeInfo& dt, const Policy& p, std::vector<uint8_t>& out) {
    solo_encode<W>(raw, dt, p, out);
  }
};
template <class W>
struct SoloDec {
  static Status run(ByteView enc, size_t pos, const DtypeInfo& dt, std::span<uint8_t> out) {
    return solo_decode<W>(enc, pos, dt, out);
  }
};
template <class W>
struct DeltaEnc {
  static void run(ByteView raw, ByteView base, const DtypeInfo& dt, uint32_t t, const Policy& p,
                  std::vector<uint8_t>& out) {
    delta_encode<W>(raw, base, dt, t, p, out);
  }
};
template <class W>
struct DeltaDec {
  static Status run(ByteView enc, size_t pos, ByteView base, const DtypeInfo& dt,
                    std::span<uint8_t> out, bool with_table) {
    return delta_decode<W>(enc, pos, base, dt, out, with_table);
  }
};

}  // namespace

void encode_solo(ByteView raw, const DtypeInfo& dt, const Policy& policy,
                 std::vector<uint8_t>& out) {
  by_word<SoloEnc>(dt, raw, dt, policy, out);
}

void encode_delta(ByteView raw, ByteView base, const DtypeInfo& dt, uint32_t threshold,
                  const Policy& policy, std::vector<uint8_t>& out) {
  by_word<DeltaEnc>(dt, raw, base, dt, threshold, policy, out);
}

// Sub-stream threshold: an exponent gets its own stream when it holds at
// least this many elements, so each stream's frequency table (a few hundred
// bytes at most) is paid for by enough symbols.
static uint32_t bucket_threshold(size_t n) {
  return std::max<uint32_t>(256, static_cast<uint32_t>(n / 128));
}

// Whether mode 6 may be `min_gain` smaller than a `best`-byte chunk. For
// larger chunks its first elements tell: their mode-6 size, scaled to the
// chunk, mostly overstates the whole (learning costs most at the start), so
// a sample that does not clear the bar means the whole would rarely clear
// it. Saves the full trial where the tables are cheap already (esrgan's
// 18-46 Ki-weight convolutions: ingest CPU 2.5x with a trial on every chunk,
// 0.1 % smaller).
static bool adaptive_may_pay(ByteView raw, ByteView base, const DtypeInfo& dt, size_t n,
                             size_t best, double min_gain) {
  constexpr size_t k_sample = 4096;
  if (best == 0 || n < 4 * k_sample) {
    return true;
  }
  std::vector<uint8_t> sample;
  adaptive::encode(raw.data(), base.data(), k_sample, dt, sample);
  const double estimate = double(sample.size()) * double(n) / double(k_sample);
  return estimate <= (1.0 - min_gain) * double(best);
}

void encode_chunk(ByteView raw, ByteView base, const DtypeInfo& dt, const EncodeOptions& opts,
                  std::vector<uint8_t>& out) {
  if (base.size() > raw.size()) {
    base = base.first(raw.size());
  }
  if (!base.empty() && base.size() < raw.size()) {
    // The base covers a prefix (a grown leading dimension): delta-code the
    // rows both share, code the new rows on their own.
    out.push_back(static_cast<uint8_t>(ChunkMode::Prefix));
    put_u32(out, static_cast<uint32_t>(base.size()));
    size_t len_pos = out.size();
    put_u32(out, 0);
    size_t start = out.size();
    encode_chunk(raw.first(base.size()), base, dt, opts, out);
    uint32_t first_len = static_cast<uint32_t>(out.size() - start);
    for (int i = 0; i < 4; ++i) {
      out[len_pos + i] = static_cast<uint8_t>(first_len >> (8 * i));
    }
    encode_chunk(raw.subspan(base.size()), ByteView(), dt, opts, out);
    return;
  }
  std::vector<uint8_t> best;
  if (!base.empty()) {
    const size_t n = raw.size() / dt.word;
    const bool can_bucket = opts.try_buckets && dt.exp_bits > 0 && n >= 2 * 256;
    // Large chunks always gain from exponent sub-streams; small ones may
    // not, so they try both.
    if (!can_bucket || n < 65536) {
      encode_delta(raw, base, dt, 0, opts.policy, best);
    }
    if (can_bucket) {
      std::vector<uint8_t> bucketed;
      encode_delta(raw, base, dt, bucket_threshold(n), opts.policy, bucketed);
      if (best.empty() || bucketed.size() < best.size()) {
        best.swap(bucketed);
      }
    }
    // Small chunks: the adaptive coder sends no tables (mode 6); kept when
    // enough smaller to be worth its slower decoding.
    if (opts.try_adaptive && n > 0 && n < k_table_min_elements && adaptive::supports(dt) &&
        adaptive_may_pay(raw, base, dt, n, best.size(), opts.adaptive_min_gain)) {
      std::vector<uint8_t> adapted;
      adapted.push_back(static_cast<uint8_t>(ChunkMode::DeltaAdaptive));
      adaptive::encode(raw.data(), base.data(), n, dt, adapted);
      auto rest = delta_rest(raw, base, n * dt.word);
      adapted.insert(adapted.end(), rest.begin(), rest.end());
      if (best.empty() ||
          double(adapted.size()) <= (1.0 - opts.adaptive_min_gain) * double(best.size())) {
        best.swap(adapted);
      }
    }
  }
  if (best.empty() || static_cast<double>(best.size()) > opts.solo_skip_ratio * raw.size()) {
    std::vector<uint8_t> solo;
    // Planes of structured tensors (basis tables, integer ids) are LZ
    // material; fast zstd beside rANS catches them (measured: -7 % on
    // silero v6, +-0 on trained weights).
    Policy solo_policy = opts.policy;
    if (!solo_policy.zstd) {
      solo_policy.zstd = true;
      solo_policy.zstd_level = 1;
    }
    encode_solo(raw, dt, solo_policy, solo);
    if (best.empty() || solo.size() < best.size()) {
      best.swap(solo);
    }
  }
  if (best.size() > raw.size() + 1) {
    out.push_back(static_cast<uint8_t>(ChunkMode::Raw));
    out.insert(out.end(), raw.begin(), raw.end());
    return;
  }
  out.insert(out.end(), best.begin(), best.end());
}

Result<ChunkMode> chunk_mode(ByteView enc) {
  if (enc.empty() || enc[0] > 6) {
    return make_error(Errc::Corrupt, "unknown chunk mode");
  }
  return static_cast<ChunkMode>(enc[0]);
}

static Status decode_chunk_at(ByteView enc, ByteView base, const DtypeInfo& dt,
                              std::span<uint8_t> out, int depth) {
  ChunkMode mode = TRY(chunk_mode(enc));
  switch (mode) {
    case ChunkMode::Raw:
      if (enc.size() != out.size() + 1) {
        return make_error(Errc::Corrupt, "raw chunk has wrong length");
      }
      copy_bytes(out.data(), enc.data() + 1, out.size());
      return {};
    case ChunkMode::Solo:
      return by_word<SoloDec>(dt, enc, size_t{1}, dt, out);
    case ChunkMode::Delta:
    case ChunkMode::DeltaBuckets:
      if (base.size() < out.size()) {
        return make_error(Errc::Corrupt, "delta chunk without enough base data");
      }
      return by_word<DeltaDec>(dt, enc, size_t{1}, base.first(out.size()), dt, out,
                               mode == ChunkMode::DeltaBuckets);
    case ChunkMode::DeltaContext:
      if (base.size() < out.size()) {
        return make_error(Errc::Corrupt, "delta chunk without enough base data");
      }
      return context_decode(enc, 1, base.first(out.size()), dt, out);
    case ChunkMode::DeltaAdaptive:
      if (base.size() < out.size()) {
        return make_error(Errc::Corrupt, "delta chunk without enough base data");
      }
      return adaptive_decode(enc, 1, base.first(out.size()), dt, out);
    case ChunkMode::Prefix: {
      if (depth > 0 || enc.size() < 9) {
        return make_error(Errc::Corrupt, "malformed prefix chunk");
      }
      uint32_t prefix = get_u32(enc.data() + 1);
      uint32_t first_len = get_u32(enc.data() + 5);
      if (prefix > out.size() || prefix > base.size() || first_len > enc.size() - 9) {
        return make_error(Errc::Corrupt, "prefix chunk lengths out of range");
      }
      TRY_STATUS(decode_chunk_at(enc.subspan(9, first_len), base.first(prefix), dt,
                                 out.first(prefix), depth + 1));
      return decode_chunk_at(enc.subspan(9 + first_len), ByteView(), dt, out.subspan(prefix),
                             depth + 1);
    }
  }
  return make_error(Errc::Corrupt, "unknown chunk mode");
}

Status decode_chunk(ByteView enc, ByteView base, const DtypeInfo& dt, std::span<uint8_t> out) {
  return decode_chunk_at(enc, base, dt, out, 0);
}

}  // namespace zipllm::codec
