// codec_speed BASE FINE: single-thread encode and decode speed
// of the chunk codec on the first BF16/F16/F32 tensor pair the two files
// share: solo and delta (MB/s of raw bytes), plus the costs around them
// that a restore also pays (XXH3-64 of a chunk, SHA-256, memcpy). A tool for
// finding where restore time goes; not part of the product. Each figure is
// the best of seven timings.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "codec/chunk.h"
#include "codec/ctx_rans.h"
#include "format/safetensors.h"
#include "ops/safetensors_file.h"
#include "util/env.h"
#include "util/hash.h"

using namespace zipllm;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The best of seven timings of `reps` calls: a VM's neighbours only ever
// slow a timing down, so the fastest is the closest to the code's own speed.
template <class F>
double mbps(uint64_t bytes, int reps, F&& f) {
  double best = 0;
  for (int trial = 0; trial < 7; ++trial) {
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) {
      f();
    }
    best = std::max(best, double(bytes) * reps / seconds_since(t0) / 1e6);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  // As the git-zipllm binary does: chunk buffers stay on the heap.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  if (argc < 3) {
    std::fprintf(stderr, "usage: codec_speed BASE FINE\n");
    return 1;
  }
  // GIT_ZIPLLM_SIMD=scalar|avx2 caps the kernel and GIT_ZIPLLM_GATHER=on|off
  // chooses the lookups, as they do for git-zipllm.
  codec::ctx_rans::apply_settings(env::string(env::Var::Simd).value_or(""),
                                  env::string(env::Var::Gather).value_or(""));
  std::printf("codec kernel %s, table lookups by %s\n",
              codec::ctx_rans::kernel_name(codec::ctx_rans::active_kernel()),
              codec::ctx_rans::use_gathers() ? "gather" : "loads");
  auto base = ops::open_safetensors(argv[1]);
  auto fine = ops::open_safetensors(argv[2]);
  if (!base || !fine) {
    std::fprintf(stderr, "cannot open inputs\n");
    return 1;
  }
  for (const auto& t : fine->header.tensors) {
    const format::TensorInfo* bt = nullptr;
    for (const auto& u : base->header.tensors) {
      if (u.name == t.name && u.dtype == t.dtype && u.size() == t.size()) {
        bt = &u;
      }
    }
    const auto& dt = format::dtype_info(t.dtype);
    if (!bt || dt.exp_bits == 0 || t.size() < (4u << 20)) {
      continue;
    }
    const size_t n = 4u << 20;  // one chunk
    std::vector<uint8_t> raw(n), b(n);
    (void)read_exact_at(fine->fd->get(), fine->header.data_start() + t.begin, raw, argv[2]);
    (void)read_exact_at(base->fd->get(), base->header.data_start() + bt->begin, b, argv[1]);
    codec::EncodeOptions opts;
    std::vector<uint8_t> solo, delta, out(n);
    codec::encode_chunk(raw, {}, dt, opts, solo);
    codec::encode_chunk(raw, b, dt, opts, delta);
    const int reps = 40;
    std::printf("tensor %s (%s), chunk of %zu bytes: solo %.3f, delta %.3f of raw\n",
                t.name.c_str(), std::string(dt.name).c_str(), n, double(solo.size()) / n,
                double(delta.size()) / n);
    std::printf("  encode solo   %7.0f MB/s\n", mbps(n, 10, [&] {
                  solo.clear();
                  codec::encode_chunk(raw, {}, dt, opts, solo);
                }));
    std::printf("  encode delta  %7.0f MB/s\n", mbps(n, 10, [&] {
                  delta.clear();
                  codec::encode_chunk(raw, b, dt, opts, delta);
                }));
    std::printf("  decode solo   %7.0f MB/s\n",
                mbps(n, reps, [&] { (void)codec::decode_chunk(solo, {}, dt, out); }));
    bool ok = codec::decode_chunk(delta, b, dt, out) && out == raw;
    std::printf("  decode delta  %7.0f MB/s%s\n",
                mbps(n, reps, [&] { (void)codec::decode_chunk(delta, b, dt, out); }),
                ok ? "" : "  (MISMATCH)");
    volatile uint64_t sink = 0;
    std::printf("  xxh3-64       %7.0f MB/s\n",
                mbps(n, reps, [&] { sink = sink + checksum64(out); }));
    std::printf("  sha-256       %7.0f MB/s\n", mbps(n, reps, [&] {
                  Sha256 s;
                  s.update(out);
                  (void)s.finish();
                }));
    std::printf("  memcpy        %7.0f MB/s\n",
                mbps(n, reps, [&] { std::memcpy(b.data(), out.data(), n); }));
    return ok ? 0 : 1;
  }
  std::fprintf(stderr, "no shared float tensor of at least 4 MiB\n");
  return 1;
}
