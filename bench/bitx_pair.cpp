// bitx_pair BASE FINE: stored size of FINE under the paper's BitX (XOR of
// 16-bit words, exponent / sign+mantissa streams, zstd -3 each) for BF16
// and F16 tensors that have a same-named, same-size base tensor; every
// other tensor and the header are zstd -3 compressed alone. Prints
// "bitx_bytes SIZE seconds SECS".
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <map>

#include "bitx_ref.h"
#include "format/safetensors.h"
#include "util/file.h"

using namespace zipllm;

static std::vector<uint8_t> load(const char* path, format::Header& h) {
  auto bytes = *read_whole_file(path, 1ull << 36);
  uint64_t n = *format::parse_header_length(ByteView(bytes.data(), 8), bytes.size());
  h = *format::parse_header(ByteView(bytes.data() + 8, n), bytes.size());
  return bytes;
}

static size_t zstd_size(const uint8_t* p, size_t n) {
  std::vector<uint8_t> out(ZSTD_compressBound(n));
  return ZSTD_compress(out.data(), out.size(), p, n, 3);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    return 1;
  }
  format::Header hb, hf;
  auto b = load(argv[1], hb);
  auto f = load(argv[2], hf);
  auto t0 = std::chrono::steady_clock::now();
  std::map<std::string, const format::TensorInfo*> by_name;
  for (const auto& t : hb.tensors) {
    by_name[t.name] = &t;
  }
  size_t total = zstd_size(f.data(), hf.data_start());
  for (const auto& t : hf.tensors) {
    const uint8_t* fp = f.data() + hf.data_start() + t.begin;
    auto it = by_name.find(t.name);
    bool two = t.dtype == format::Dtype::BF16 || t.dtype == format::Dtype::F16;
    if (two && it != by_name.end() && it->second->size() == t.size() &&
        it->second->dtype == t.dtype) {
      total += bench::bitx_size(fp, b.data() + hb.data_start() + it->second->begin, t.size());
    } else if (t.size() > 0) {
      total += zstd_size(fp, t.size());
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("bitx_bytes %zu seconds %.3f\n", total, secs);
  return 0;
}
