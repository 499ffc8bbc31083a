// BitX exactly as the ZipLLM paper describes it, for comparison only:
// XOR the 16-bit words of fine-tune and base, split each XOR word into an
// exponent byte (bits 14..7) and a sign+mantissa byte (bit 15, bits 6..0),
// compress each stream with zstd -3. Returns the compressed size.
#pragma once

#include <cstddef>
#include <cstdint>

namespace zipllm::bench {

size_t bitx_size(const uint8_t* fine, const uint8_t* base, size_t bytes, int level = 3);

}  // namespace zipllm::bench
