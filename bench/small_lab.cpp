// small_lab BASE FINE: for the tensors both files share, the stored size
// and decode time of small chunks with and without the adaptive coder
// (mode 6), by tensor size class. A tool for choosing when the encoder
// writes mode 6; not part of the product.
#include <chrono>
#include <cstdio>
#include <map>

#include "codec/chunk.h"
#include "load.h"

using namespace zipllm;

namespace {

struct Tally {
  size_t tensors = 0, elements = 0, raw = 0, without = 0, with = 0;
  double secs_without = 0, secs_with = 0;
};

double decode_secs(const std::vector<uint8_t>& enc, ByteView base, const format::DtypeInfo& dt,
                   size_t len) {
  std::vector<uint8_t> out(len);
  auto t0 = std::chrono::steady_clock::now();
  if (!codec::decode_chunk(enc, base, dt, out)) {
    std::fprintf(stderr, "decode failed\n");
    std::exit(1);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: small_lab BASE FINE\n");
    return 2;
  }
  bench::Loaded base = bench::load_safetensors(argv[1]);
  bench::Loaded fine = bench::load_safetensors(argv[2]);
  const auto by_name = bench::tensors_by_name(base.header);
  const size_t classes[] = {1024, 4096, 16384, 65536};
  std::map<size_t, Tally> tally;
  for (const auto& t : fine.header.tensors) {
    auto it = by_name.find(t.name);
    const auto& dt = format::dtype_info(t.dtype);
    if (it == by_name.end() || it->second->size() != t.size() || it->second->dtype != t.dtype ||
        t.size() / dt.word >= 65536 || t.size() == 0) {
      continue;
    }
    ByteView f(fine.bytes.data() + fine.header.data_start() + t.begin, t.size());
    ByteView b(base.bytes.data() + base.header.data_start() + it->second->begin, t.size());
    const size_t n = t.size() / dt.word;
    size_t cls = 0;
    while (n >= classes[cls]) {
      ++cls;
    }
    Tally& y = tally[classes[cls]];
    codec::EncodeOptions off;
    off.try_adaptive = false;
    std::vector<uint8_t> e0, e1;
    codec::encode_chunk(f, b, dt, off, e0);
    codec::EncodeOptions on;
    if (const char* g = std::getenv("GAIN")) {
      on.adaptive_min_gain = std::atof(g);
    }
    codec::encode_chunk(f, b, dt, on, e1);
    ++y.tensors;
    y.elements += n;
    y.raw += t.size();
    y.without += e0.size();
    y.with += e1.size();
    y.secs_without += decode_secs(e0, b, dt, t.size());
    y.secs_with += decode_secs(e1, b, dt, t.size());
  }
  std::printf(
      "| elements below | tensors | raw | without mode 6 | with | ratio | decode MB/s without | "
      "with |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const auto& [cls, y] : tally) {
    std::printf("| %zu | %zu | %zu | %zu | %zu | %.3f | %.0f | %.0f |\n", cls, y.tensors, y.raw,
                y.without, y.with, double(y.with) / double(y.without),
                double(y.raw) / y.secs_without / 1e6, double(y.raw) / y.secs_with / 1e6);
  }
}
