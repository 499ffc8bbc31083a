// Context-modelled interleaved rANS for delta words (chunk mode 5, see
// docs/FORMAT.md §3).
//
// The delta words of a chunk are coded in element order, one byte plane at
// a time per element, each byte with the frequency table of its plane and
// its element's context: the exponent of the base word, mapped through a
// small table (exponents common in the chunk get a context each, the rest
// share context 0). That is the statistics of mode 4's exponent
// sub-streams, without their sort: the decoder writes each element where it
// belongs and adds the base in the same pass.
//
// 32 rANS states per plane (element i uses lane i % 32 of each plane),
// 32-bit states, 12-bit probabilities, 16-bit renormalisation into one
// shared word stream. Encoder and decoder have scalar kernels for every
// word size and AVX2 and AVX-512 kernels for 2-byte words; the best the CPU
// has is chosen at run time, and all write and read the same bytes.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "format/dtype.h"
#include "util/hash.h"
#include "util/result.h"

namespace zipllm::codec::ctx_rans {

inline constexpr unsigned k_lanes = 32;      // states per byte plane
inline constexpr unsigned k_prob_bits = 12;  // frequencies sum to 4096
inline constexpr unsigned k_max_contexts = 256;

// Appends the payload of a mode-5 chunk for the delta words of `raw`
// against `base` (n words of dt.word bytes; dt an IEEE float type): the
// exponents that get a context of their own (those of at least `threshold`
// base elements, at most 255), the frequency tables, the final states and
// the word stream. Both spans hold at least n * dt.word bytes.
void encode(const uint8_t* raw, const uint8_t* base, size_t n, const format::DtypeInfo& dt,
            uint32_t threshold, std::vector<uint8_t>& out);

// Decodes what encode() appended, starting at enc[pos] (advanced past it),
// adding each delta to its base word: out receives n * dt.word bytes.
// Corrupt on any inconsistency (bad table, stream ending early or late, a
// final state that is not the encoder's initial one, an element whose
// context has no table).
Status decode(ByteView enc, size_t& pos, const uint8_t* base, size_t n, const format::DtypeInfo& dt,
              uint8_t* out);

// The kernels, for tests: the best the CPU has is used; all give the same
// bytes (a kernel the CPU lacks falls back to scalar; the vector kernels
// are for 2-byte words, wider ones always take the scalar kernels).
enum class Kernel { Scalar = 0, Avx2 = 1, Avx512 = 2, Neon = 3 };
bool kernel_available(Kernel k);
// The kernel coding uses now (the best the CPU has, within the cap) and
// its name: "scalar", "avx2", "avx512", "neon".
Kernel active_kernel();
const char* kernel_name(Kernel k);
// Caps the kernel the coder uses (to measure what other CPUs get; the
// bytes are the same either way): Scalar always means scalar, Avx2 keeps an
// AVX-512 CPU to AVX2, anything else is no cap. main sets it from
// GIT_ZIPLLM_SIMD, before any coding starts.
void cap_kernel(Kernel max);
// How the x86 kernels look up their tables: gather instructions or scalar
// loads assembled into vectors (the same bytes either way). A gather costs
// more than the loads on AMD's Zen (measured on Zen 5: the AVX-512 encoder
// 650 -> 920 MB/s, the AVX2 decoder 600 -> 1290 MB/s with loads); Intel's
// were measured fast with gathers, so Auto keeps them there. The AVX-512
// decoder always gathers (its lookup is on the state's dependency chain,
// where the loads measured slower). main sets it from GIT_ZIPLLM_GATHER.
enum class Lookup { Auto = 0, Gather = 1, Loads = 2 };
void set_lookup(Lookup how);
// Whether the kernels gather now.
bool use_gathers();
// Applies the values of GIT_ZIPLLM_SIMD ("scalar", "avx2": cap_kernel) and
// GIT_ZIPLLM_GATHER ("on", "off": set_lookup), which the caller reads; an
// empty or unknown value changes nothing.
void apply_settings(std::string_view simd, std::string_view gather);
void encode_with(Kernel k, const uint8_t* raw, const uint8_t* base, size_t n,
                 const format::DtypeInfo& dt, uint32_t threshold, std::vector<uint8_t>& out);
Status decode_with(Kernel k, ByteView enc, size_t& pos, const uint8_t* base, size_t n,
                   const format::DtypeInfo& dt, uint8_t* out);

// One symbol's encoder constants: the rANS step
//   x' = (x / freq) * 4096 + x % freq + cum
// done with a multiplication instead of the division (exposed for its
// exhaustive test; exact for L <= x < freq * 2^19, the encoder's range:
// it emits 16 bits first when x >= freq * 2^19).
struct EncSymbol {
  uint32_t rcp = 0;
  uint32_t bias = 0;
  uint16_t cmpl = 0;  // 4096 - freq
  uint16_t shift = 0;
};
EncSymbol make_symbol(uint32_t cum, uint32_t freq);
inline uint32_t encode_step(uint32_t x, const EncSymbol& s) {
  uint32_t q = static_cast<uint32_t>((uint64_t(x) * s.rcp) >> 32) >> s.shift;
  return x + s.bias + q * s.cmpl;
}

}  // namespace zipllm::codec::ctx_rans
