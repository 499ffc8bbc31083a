// Chunk codec: the encoding of one chunk (at most a few MiB) of one tensor.
// Pure: spans in, bytes out; thread-safe.
//
//   chunk := mode:u8 body
//   mode 0 raw:   body = the bytes
//   mode 1 solo:  body = plane streams of the rotated words (see FORMAT.md)
//   mode 2 delta: body = threshold:u32le plane streams of the zigzagged
//                 difference against the base chunk, each plane split into
//                 sub-streams by the base element's exponent (buckets
//                 recomputed from the base; used for small chunks and unbucketed ones)
//   mode 4 delta with bucket table: body = the table (which exponents have
//                 their own sub-stream, per-quarter bucket counts) then the
//                 plane streams as in mode 2 (large bucketed chunks of 4- and
//                 8-byte words; earlier versions wrote it for 2-byte words
//                 too)
//   mode 5 context-coded delta: body = the exponents with their own context,
//                 then ctx_rans.h's payload (all planes in element order,
//                 each byte coded under its base element's context), then
//                 the rest (bucketed chunks of >= 64 Ki 2-byte words; wider
//                 words are written as mode 4)
//   mode 6 adaptive delta: body = adaptive.h's payload (the delta words
//                 coded bit by bit with learnt probabilities, no tables),
//                 then the rest (small chunks of 2- and 4-byte floats, when
//                 smaller than mode 2)
//   mode 3 prefix: body = prefix:u32le first_len:u32le first:chunk rest:chunk
//                 `first` (first_len bytes) codes raw[0,prefix) against the
//                 base; `rest` codes the remaining bytes without a base. Used
//                 when the base is shorter (a grown leading dimension).
//                 Not nested.
//
// Streams are entropy.h records. Bytes past the last whole word ("rest") are
// carried raw in a final record, so any length round-trips.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "codec/entropy.h"
#include "format/dtype.h"
#include "util/result.h"

namespace zipllm::codec {

enum class ChunkMode : uint8_t {
  Raw = 0,
  Solo = 1,
  Delta = 2,
  Prefix = 3,
  DeltaBuckets = 4,
  DeltaContext = 5,
  DeltaAdaptive = 6,
};

struct EncodeOptions {
  // Try delta with and without exponent sub-streams and keep the smaller.
  bool try_buckets = true;
  // Try the adaptive coder (mode 6) on small chunks; keep it when it is at
  // least this fraction smaller than the best table coder's chunk: it
  // decodes at 10-30 MB/s, the table coders at hundreds, so a gain of 2-3 %
  // (esrgan's 36 Ki-weight convolutions) is not worth it, while a fine-tune
  // of small tensors gains 10-50 % (bench/small_lab).
  bool try_adaptive = true;
  double adaptive_min_gain = 0.05;
  // Skip the solo attempt when the delta is already below this fraction of
  // the raw size (solo coding of float weights never gets that low).
  double solo_skip_ratio = 0.55;
  Policy policy{};
};

// Encodes `raw` (a whole number of dtype words, except possibly a short rest)
// on its own. Appends to out.
void encode_solo(ByteView raw, const format::DtypeInfo& dt, const Policy& policy,
                 std::vector<uint8_t>& out);

// Encodes `raw` against `base` (same length). Appends to out.
void encode_delta(ByteView raw, ByteView base, const format::DtypeInfo& dt, uint32_t threshold,
                  const Policy& policy, std::vector<uint8_t>& out);

// Picks the smallest of solo, delta (if base is non-empty) and raw. A base
// shorter than raw covers a prefix (prefix mode); a longer one is truncated.
void encode_chunk(ByteView raw, ByteView base, const format::DtypeInfo& dt,
                  const EncodeOptions& opts, std::vector<uint8_t>& out);

// Returns the mode of an encoded chunk (Corrupt if empty or unknown).
Result<ChunkMode> chunk_mode(ByteView enc);

// Whether a chunk of this mode is decoded against base bytes.
inline bool needs_base(ChunkMode m) {
  return m == ChunkMode::Delta || m == ChunkMode::Prefix || m == ChunkMode::DeltaBuckets ||
         m == ChunkMode::DeltaContext || m == ChunkMode::DeltaAdaptive;
}

// Decodes into `out` (whose size is the raw length). `base` must hold the
// same bytes the encoder was given (it may be longer; the excess is unused).
Status decode_chunk(ByteView enc, ByteView base, const format::DtypeInfo& dt,
                    std::span<uint8_t> out);

}  // namespace zipllm::codec
