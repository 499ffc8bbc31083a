// codec_lab BASE FINE: per-pair stored size of each codec variant, summed
// over the tensors both files share (same name, dtype and size). A tool for
// choosing codec defaults by measurement; not part of the product.
#include <chrono>
#include <cstdio>
#include <map>

#include "bitx_ref.h"
#include "codec/chunk.h"
#include "load.h"

using namespace zipllm;

int main(int argc, char** argv) {
  if (argc < 3) {
    return 2;
  }
  bench::Loaded base = bench::load_safetensors(argv[1]);
  bench::Loaded fine = bench::load_safetensors(argv[2]);
  const auto by_name = bench::tensors_by_name(base.header);
  const size_t chunk = 4u << 20;
  struct Variant {
    const char* name;
    int mode;  // 0 solo, 1 delta nosplit, 2 delta split, 3 chooser
    codec::Policy policy;
  };
  std::vector<Variant> variants = {
      {"solo r0", 0, {true, false, false}},          {"solo r0+r1+zstd", 0, {true, true, true}},
      {"solo r0+zstd", 0, {true, false, true, 3}},   {"solo r0+zstd1", 0, {true, false, true, 1}},
      {"solo r0+r1", 0, {true, true, false}},        {"delta r0", 1, {true, false, false}},
      {"delta r0+r1", 1, {true, true, false}},       {"delta split r0", 2, {true, false, false}},
      {"delta split r0+r1", 2, {true, true, false}}, {"chooser r0", 3, {true, false, false}},
      {"chooser r0+r1", 3, {true, true, false}},
  };
  size_t raw_total = 0, bitx_total = 0;
  std::vector<size_t> totals(variants.size(), 0);
  std::vector<double> secs(variants.size(), 0);
  for (const auto& t : fine.header.tensors) {
    const uint8_t* f = fine.bytes.data() + fine.header.data_start() + t.begin;
    auto it = by_name.find(t.name);
    const uint8_t* b = nullptr;
    if (it != by_name.end() && it->second->dtype == t.dtype && it->second->size() == t.size()) {
      b = base.bytes.data() + base.header.data_start() + it->second->begin;
    }
    const auto& dt = format::dtype_info(t.dtype);
    raw_total += t.size();
    if (b && dt.word == 2) {
      bitx_total += bench::bitx_size(f, b, t.size());
    } else {
      bitx_total += t.size();  // not comparable; counted raw
    }
    for (size_t v = 0; v < variants.size(); ++v) {
      auto t0 = std::chrono::steady_clock::now();
      for (size_t off = 0; off < t.size(); off += chunk) {
        size_t len = std::min(chunk, static_cast<size_t>(t.size() - off));
        ByteView raw(f + off, len);
        std::vector<uint8_t> out;
        const auto& var = variants[v];
        if (var.mode == 0 || !b) {
          codec::encode_solo(raw, dt, var.policy, out);
        } else if (var.mode == 1) {
          codec::encode_delta(raw, ByteView(b + off, len), dt, 0, var.policy, out);
        } else if (var.mode == 2) {
          uint32_t th =
              static_cast<uint32_t>(std::getenv("TH") ? std::atoi(std::getenv("TH")) : 512);
          codec::encode_delta(raw, ByteView(b + off, len), dt,
                              std::max<uint32_t>(th, len / dt.word / 128), var.policy, out);
        } else {
          codec::EncodeOptions o;
          o.policy = var.policy;
          codec::encode_chunk(raw, ByteView(b + off, len), dt, o, out);
        }
        totals[v] += out.size();
      }
      secs[v] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  std::printf("raw %zu  bitx-zstd3 %zu (ratio %.3f)\n", raw_total, bitx_total,
              double(raw_total) / bitx_total);
  for (size_t v = 0; v < variants.size(); ++v) {
    std::printf("%-20s %10zu ratio %.3f  vs bitx %.3f  %.0f MB/s\n", variants[v].name, totals[v],
                double(raw_total) / totals[v], double(totals[v]) / bitx_total,
                raw_total / secs[v] / 1e6);
  }
}
