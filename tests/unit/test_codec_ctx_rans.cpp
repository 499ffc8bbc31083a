#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <thread>

#include "codec/ctx_rans.h"
#include "helpers.h"

using namespace zipllm;
using namespace zipllm::codec;
using namespace zipllm::codec::ctx_rans;

namespace {

// Words of w bytes that look like IEEE floats of a trained tensor (a few
// common exponents), and a fine-tune that moves each by a few units.
struct Pair {
  std::vector<uint8_t> base, fine;
};

Pair float_pair(size_t n, unsigned w, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Pair p;
  p.base.resize(n * w);
  p.fine.resize(n * w);
  for (size_t i = 0; i < n; ++i) {
    uint64_t g = rng();
    // Exponent bits near the middle of the range: the top byte (sign and
    // high exponent bits) from a handful of values.
    const uint8_t tops[] = {0x3c, 0x3d, 0xbc, 0xbd, 0x3b};
    uint8_t top = tops[rng() % 5];
    int64_t delta = static_cast<int64_t>(rng() % 64) - 32;
    if (rng() % 50 == 0) {
      delta *= 997;  // an occasional large move
    }
    for (unsigned j = 0; j < w; ++j) {
      uint8_t gb = j + 1 == w ? top : static_cast<uint8_t>(g >> (8 * j));
      p.base[i * w + j] = gb;
    }
    uint64_t word = 0;
    for (unsigned j = 0; j < w; ++j) {
      word |= uint64_t(p.base[i * w + j]) << (8 * j);
    }
    word += static_cast<uint64_t>(delta);
    for (unsigned j = 0; j < w; ++j) {
      p.fine[i * w + j] = static_cast<uint8_t>(word >> (8 * j));
    }
  }
  return p;
}

// An IEEE dtype of each word size.
const format::DtypeInfo& dtype_for(unsigned w) {
  switch (w) {
    case 1:
      return *format::dtype_by_name("F8_E4M3");
    case 2:
      return *format::dtype_by_name("BF16");
    case 4:
      return *format::dtype_by_name("F32");
    default:
      return *format::dtype_by_name("F64");
  }
}

// Exponents with at least n / 16 elements get a context of their own.
uint32_t threshold_for(size_t n) {
  return static_cast<uint32_t>(std::max<size_t>(1, n / 16));
}

std::vector<uint8_t> encode_pair(const Pair& p, size_t n, unsigned w, Kernel k) {
  std::vector<uint8_t> enc;
  encode_with(k, p.fine.data(), p.base.data(), n, dtype_for(w), threshold_for(n), enc);
  return enc;
}

Status decode_pair(const std::vector<uint8_t>& enc, const Pair& p, size_t n, unsigned w, Kernel k,
                   std::vector<uint8_t>& out) {
  out.assign(n * w, 0xee);
  size_t pos = 0;
  TRY_STATUS(decode_with(k, enc, pos, p.base.data(), n, dtype_for(w), out.data()));
  if (pos != enc.size()) {
    return make_error(Errc::Corrupt, "did not consume the payload");
  }
  return {};
}

}  // namespace

TEST_CASE("context coder: the encoder's multiply-for-divide step is exact over its whole range") {
  // For every frequency, states at both ends of the encoder's range and
  // in between: (x / f) * 4096 + x % f + cum.
  std::mt19937 rng(7);
  uint64_t wrong = 0;
  for (uint32_t f = 1; f <= 4096; ++f) {
    const uint32_t cum = 4096 - f;
    const EncSymbol s = make_symbol(cum, f);
    const uint32_t hi = f << 19;  // x < hi after renormalisation
    std::vector<uint32_t> xs = {1u << 15, (1u << 15) + 1, hi - 1, hi - 2, hi - f, f * 8, f * 8 + 1};
    for (int k = 0; k < 64; ++k) {
      xs.push_back((1u << 15) + rng() % (hi - (1u << 15)));
    }
    for (uint32_t x : xs) {
      if (x < 8 || x >= hi) {
        continue;
      }
      const uint32_t want = (x / f) * 4096 + x % f + cum;
      wrong += encode_step(x, s) != want;
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("context coder: every word size and length round-trips, with both kernels alike") {
  for (unsigned w : {1u, 2u, 4u, 8u}) {
    for (size_t n :
         {size_t(0), size_t(1), size_t(31), size_t(32), size_t(33), size_t(1000), size_t(20011)}) {
      CAPTURE(w);
      CAPTURE(n);
      Pair p = float_pair(n, w, 100 + n + w);
      auto scalar = encode_pair(p, n, w, Kernel::Scalar);
      CHECK(scalar == encode_pair(p, n, w, Kernel::Avx2));    // the output does not depend
      CHECK(scalar == encode_pair(p, n, w, Kernel::Avx512));  // on the machine
      CHECK(scalar == encode_pair(p, n, w, Kernel::Neon));
      std::vector<uint8_t> out;
      REQUIRE(decode_pair(scalar, p, n, w, Kernel::Scalar, out));
      CHECK(out == p.fine);
      REQUIRE(decode_pair(scalar, p, n, w, Kernel::Avx2, out));
      CHECK(out == p.fine);
      REQUIRE(decode_pair(scalar, p, n, w, Kernel::Avx512, out));
      CHECK(out == p.fine);
      REQUIRE(decode_pair(scalar, p, n, w, Kernel::Neon, out));
      CHECK(out == p.fine);
    }
  }
  // A kernel this CPU lacks falls back to scalar, so the comparisons above
  // proved nothing about it: say so in every run, not only on failure.
#if defined(__aarch64__)
  WARN_MESSAGE(kernel_available(Kernel::Neon),
               "the NEON kernels were NOT compared with the scalar ones: not built for NEON");
#else
  WARN_MESSAGE(kernel_available(Kernel::Avx2),
               "the AVX2 kernels were NOT compared with the scalar ones: this CPU lacks AVX2");
  WARN_MESSAGE(
      kernel_available(Kernel::Avx512),
      "the AVX-512 kernels were NOT compared with the scalar ones: this CPU lacks AVX-512 (VBMI2)");
#endif
}

TEST_CASE("context coder: the x86 kernels write and read the same bytes by gather and by loads") {
  // Lookup::Auto picks one of the two by CPU vendor; both must agree with
  // the scalar kernels whichever the machine running the tests would pick.
  for (Lookup how : {Lookup::Gather, Lookup::Loads}) {
    set_lookup(how);
    CHECK(use_gathers() == (how == Lookup::Gather));
    for (size_t n : {size_t(31), size_t(32), size_t(1000), size_t(20011), size_t(70000)}) {
      CAPTURE(how == Lookup::Gather);
      CAPTURE(n);
      Pair p = float_pair(n, 2, 300 + n);
      auto scalar = encode_pair(p, n, 2, Kernel::Scalar);
      CHECK(scalar == encode_pair(p, n, 2, Kernel::Avx2));
      CHECK(scalar == encode_pair(p, n, 2, Kernel::Avx512));
      std::vector<uint8_t> out;
      REQUIRE(decode_pair(scalar, p, n, 2, Kernel::Avx2, out));
      CHECK(out == p.fine);
      REQUIRE(decode_pair(scalar, p, n, 2, Kernel::Avx512, out));
      CHECK(out == p.fine);
    }
  }
  set_lookup(Lookup::Auto);
}

TEST_CASE("context coder: compresses small deltas well below their raw size") {
  const size_t n = 100000;
  Pair p = float_pair(n, 2, 5);
  auto enc = encode_pair(p, n, 2, Kernel::Scalar);
  // About 6.5 bits of delta entropy per word plus tables and states.
  CHECK(enc.size() < n * 2 * 6 / 10);
}

TEST_CASE("context coder: damage, truncation and a wrong base are errors, never crashes") {
  const size_t n = 5000;
  const unsigned w = 2;
  Pair p = float_pair(n, w, 9);
  auto enc = encode_pair(p, n, w, Kernel::Scalar);
  std::vector<uint8_t> out;
  for (Kernel k : {Kernel::Scalar, Kernel::Avx2, Kernel::Avx512, Kernel::Neon}) {
    for (size_t cut :
         {size_t(0), size_t(1), size_t(40), enc.size() / 2, enc.size() - 2, enc.size() - 1}) {
      std::vector<uint8_t> t(enc.begin(), enc.begin() + static_cast<std::ptrdiff_t>(cut));
      CAPTURE(cut);
      CHECK_FALSE(decode_pair(t, p, n, w, k, out));
    }
    // Single-byte damage anywhere: either rejected, or (rarely, in the word
    // stream) decoded to other bytes that the object's hash then rejects.
    // Most must be caught here, and none may read out of bounds (ASan).
    size_t caught = 0, tried = 0;
    for (size_t pos = 0; pos < enc.size(); pos += 7) {
      auto bad = enc;
      bad[pos] ^= static_cast<uint8_t>(1u << (pos % 8));
      ++tried;
      Status st = decode_pair(bad, p, n, w, k, out);
      caught += !st || out != p.fine;
    }
    CHECK(caught == tried);  // a changed byte never decodes to the same data
    Pair other = float_pair(n, w, 10);
    other.fine = p.fine;
    CHECK_FALSE(decode_pair(enc, other, n, w, k, out));
  }
}

TEST_CASE(
    "context coder: 256 contexts (every exponent its own but one) round-trip on both kernels") {
  // Uniformly random base words: all 256 BF16 exponents occur, threshold 1
  // gives 255 listed exponents plus context 0 (the most the format allows),
  // so the vector decoder takes its gather path (block numbers past a
  // byte). F64's 2048 exponents are capped the same way.
  for (const char* name : {"BF16", "F64"}) {
    const auto& dt = *format::dtype_by_name(name);
    const size_t n = 40000;
    auto base = test::random_bytes(n * dt.word, 1);
    auto fine = base;
    for (size_t i = 0; i < fine.size(); i += dt.word) {
      fine[i] = static_cast<uint8_t>(fine[i] + (i % 7));
    }
    std::vector<uint8_t> enc;
    encode_with(Kernel::Scalar, fine.data(), base.data(), n, dt, 1, enc);
    for (Kernel k : {Kernel::Scalar, Kernel::Avx2, Kernel::Avx512, Kernel::Neon}) {
      CAPTURE(name);
      std::vector<uint8_t> out(fine.size());
      size_t pos = 0;
      REQUIRE(decode_with(k, enc, pos, base.data(), n, dt, out.data()));
      CHECK(pos == enc.size());
      CHECK(out == fine);
      std::vector<uint8_t> again;
      encode_with(k, fine.data(), base.data(), n, dt, 1, again);
      CHECK(again == enc);
    }
  }
}

TEST_CASE("context coder: a chunk's encoding does not depend on what the thread encoded before") {
  // The encoder keeps its counters per thread and zeroes only the rows
  // (exponents) a chunk uses, as they come into use sub-block by
  // sub-block. A chunk whose exponents first fall and then rise brings in
  // new rows below and above in later sub-blocks; encoded after a chunk
  // that used every row, it must come out as on a fresh thread.
  for (const char* name : {"BF16", "F64"}) {
    CAPTURE(name);
    const auto& dt = *format::dtype_by_name(name);
    const size_t n = 70000;  // several sub-blocks
    auto noise = test::random_bytes(n * dt.word, 3);
    auto fine_noise = noise;
    for (size_t i = 0; i < fine_noise.size(); i += dt.word) {
      fine_noise[i] = static_cast<uint8_t>(fine_noise[i] + (i % 5));
    }
    // Exponent e(i): 100 at the start, down to 60 at n/2, up to 140.
    std::vector<uint8_t> base(n * dt.word), fine(n * dt.word);
    const unsigned ebits = dt.exp_bits, mbits = dt.mant_bits;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t e = i < n / 2 ? 100 - 40 * i / (n / 2) : 60 + 80 * (i - n / 2) / (n / 2);
      const uint64_t biased = e + ((uint64_t(1) << (ebits - 1)) - 128);  // near 1.0 for any width
      uint64_t g = 0, f = 0;
      for (unsigned j = 0; j < dt.word; ++j) {
        g |= uint64_t(noise[i * dt.word + j]) << (8 * j);
        f |= uint64_t(fine_noise[i * dt.word + j]) << (8 * j);
      }
      const uint64_t mant = (uint64_t(1) << mbits) - 1;
      g = (g & mant) | biased << mbits;
      f = (f & mant) | biased << mbits;
      for (unsigned j = 0; j < dt.word; ++j) {
        base[i * dt.word + j] = static_cast<uint8_t>(g >> (8 * j));
        fine[i * dt.word + j] = static_cast<uint8_t>(f >> (8 * j));
      }
    }
    for (Kernel k : {Kernel::Scalar, Kernel::Avx2, Kernel::Avx512, Kernel::Neon}) {
      CAPTURE(static_cast<int>(k));
      std::vector<uint8_t> fresh;
      std::thread([&] { encode_with(k, fine.data(), base.data(), n, dt, 64, fresh); }).join();
      std::vector<uint8_t> after;
      std::thread([&] {
        std::vector<uint8_t> first;
        auto rb = test::random_bytes(n * dt.word, 4);
        auto rf = test::random_bytes(n * dt.word, 5);
        encode_with(k, rf.data(), rb.data(), n, dt, 1, first);
        encode_with(k, fine.data(), base.data(), n, dt, 64, after);
      }).join();
      CHECK(after == fresh);
      std::vector<uint8_t> out(fine.size());
      size_t pos = 0;
      REQUIRE(decode_with(k, after, pos, base.data(), n, dt, out.data()));
      CHECK(out == fine);
    }
  }
}
