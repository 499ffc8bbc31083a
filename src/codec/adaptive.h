// Adaptive binary coder for the delta words of small chunks (chunk mode 6,
// see docs/FORMAT.md §3).
//
// Below 64 Ki elements the frequency tables of modes 2, 4 and 5 cost a
// large share of the chunk (a tensor of 4,096 BF16 weights has ~16 tables
// of up to 256 symbols each). This coder sends no tables: every decision is
// a binary one coded with a probability learnt from the decisions before it,
// so the statistics are paid for by the data as it goes.
//
// What it models, from how fine-tunes move weights: an optimiser step
// changes a weight by an amount roughly independent of the weight's size,
// so the delta counted in units in the last place shrinks by half for every
// step up of the base weight's exponent e. With a = |key(fine) - key(base)|
// and L its bit length, L + e is nearly the same for every element of a
// tensor and has a hard ceiling (the largest step). The chunk sends that
// ceiling C (the few elements above it escape); each element's L is coded
// as "is it C - e? C - e - 1? ..." (one decision per step down, mixing four
// adaptive models: by step, by step and exponent, by step and the previous
// element's length, and all three, with weights that learn which one to
// trust), then the sign and the bits of a below its leading one (the first
// two modelled by length and distance below the ceiling, the others sent
// as they are).
//
// Integer arithmetic only, so every CPU writes and reads the same bytes.
// Slower than the table coders (tens of MB/s), which is why it is kept for
// small chunks.
#pragma once

#include <cstdint>
#include <vector>

#include "format/dtype.h"
#include "util/hash.h"
#include "util/result.h"

namespace zipllm::codec::adaptive {

// Whether chunks of this dtype can be coded here: IEEE floats of 2- or
// 4-byte words.
bool supports(const format::DtypeInfo& dt);

// Appends the body of a mode-6 chunk (without the rest record) for the n
// delta words of `raw` against `base` (both at least n * dt.word bytes).
void encode(const uint8_t* raw, const uint8_t* base, size_t n, const format::DtypeInfo& dt,
            std::vector<uint8_t>& out);

// Decodes what encode() appended, starting at enc[pos] (advanced past it),
// into out (n * dt.word bytes). Corrupt when the stream is cut short or
// does not end where its length says.
Status decode(ByteView enc, size_t& pos, const uint8_t* base, size_t n, const format::DtypeInfo& dt,
              uint8_t* out);

}  // namespace zipllm::codec::adaptive
