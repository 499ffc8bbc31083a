#include "bitx_ref.h"

#include <zstd.h>

#include <vector>

namespace zipllm::bench {

size_t bitx_size(const uint8_t* fine, const uint8_t* base, size_t bytes, int level) {
  size_t n = bytes / 2;
  std::vector<uint8_t> expo(n), sm(n);
  for (size_t i = 0; i < n; ++i) {
    uint16_t f = uint16_t(fine[2 * i] | fine[2 * i + 1] << 8);
    uint16_t b = uint16_t(base[2 * i] | base[2 * i + 1] << 8);
    uint16_t x = f ^ b;
    expo[i] = uint8_t((x >> 7) & 0xff);
    sm[i] = uint8_t(((x >> 15) << 7) | (x & 0x7f));
  }
  std::vector<uint8_t> out(ZSTD_compressBound(n));
  size_t a = ZSTD_compress(out.data(), out.size(), expo.data(), n, level);
  size_t c = ZSTD_compress(out.data(), out.size(), sm.data(), n, level);
  return a + c + (bytes & 1);
}

}  // namespace zipllm::bench
