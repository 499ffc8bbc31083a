#include <doctest/doctest.h>

#include <cstring>

#include "codec/adaptive.h"
#include "codec/chunk.h"
#include "helpers.h"

using namespace zipllm;
using namespace zipllm::codec;
using format::dtype_by_name;

namespace {

// The fixture of tests/data/golden/chunk_delta_mode6.bin: 4,099 BF16
// weights (a 4,096-weight matrix is the typical small tensor), a fine-tune
// of them (every weight moved by ~2e-4, as an optimiser moves them), and one
// odd trailing byte each.
std::pair<std::vector<uint8_t>, std::vector<uint8_t>> small_fixture() {
  auto base = test::bf16_weights(4099, 61);
  auto fine = test::bf16_steps(base, 62, 2e-4f);
  fine.push_back(0x3c);
  base.push_back(0xc3);
  return {base, fine};
}

// adaptive::encode then decode of n words; returns the decoded bytes.
std::vector<uint8_t> through_adaptive(const std::vector<uint8_t>& fine,
                                      const std::vector<uint8_t>& base, const char* dtype) {
  const auto& dt = *dtype_by_name(dtype);
  const size_t n = fine.size() / dt.word;
  std::vector<uint8_t> enc;
  adaptive::encode(fine.data(), base.data(), n, dt, enc);
  std::vector<uint8_t> again;
  adaptive::encode(fine.data(), base.data(), n, dt, again);
  CHECK(enc == again);  // deterministic
  std::vector<uint8_t> out(n * dt.word);
  size_t pos = 0;
  Status st = adaptive::decode(enc, pos, base.data(), n, dt, out.data());
  REQUIRE_MESSAGE(st, (st ? "" : st.error().message));
  CHECK(pos == enc.size());
  return out;
}

void put16(std::vector<uint8_t>& v, uint16_t w) {
  v.push_back(static_cast<uint8_t>(w));
  v.push_back(static_cast<uint8_t>(w >> 8));
}

}  // namespace

TEST_CASE("adaptive coder: small BF16 deltas are written as mode 6, locked by a golden file") {
  auto [base, fine] = small_fixture();
  const auto& dt = *dtype_by_name("BF16");
  std::vector<uint8_t> enc;
  encode_chunk(fine, base, dt, EncodeOptions{}, enc);
  REQUIRE(enc[0] == static_cast<uint8_t>(ChunkMode::DeltaAdaptive));
  std::string golden = std::string(ZIPLLM_TEST_DATA) + "/golden/chunk_delta_mode6.bin";
  if (std::getenv("ZIPLLM_UPDATE_GOLDEN")) {
    test::write_file(golden, enc);
  }
  auto locked = read_whole_file(golden, 1 << 20);
  REQUIRE_MESSAGE(locked, "missing " << golden);
  CHECK(*locked == enc);  // the encoder is deterministic and mode 6 unchanged
  std::vector<uint8_t> out(fine.size());
  REQUIRE(decode_chunk(*locked, base, dt, out));
  CHECK(out == fine);
  // Without tables to pay for, well below the table coders' chunk.
  EncodeOptions tables;
  tables.try_adaptive = false;
  std::vector<uint8_t> without;
  encode_chunk(fine, base, dt, tables, without);
  CHECK(without[0] != static_cast<uint8_t>(ChunkMode::DeltaAdaptive));
  CHECK(double(enc.size()) < 0.9 * double(without.size()));
}

TEST_CASE("adaptive coder: large chunks and small gains keep the faster table coders") {
  const auto& dt = *dtype_by_name("BF16");
  auto base = test::bf16_weights(70000, 63);
  auto fine = test::bf16_steps(base, 64, 2e-4f);
  std::vector<uint8_t> enc;
  encode_chunk(fine, base, dt, EncodeOptions{}, enc);
  CHECK(enc[0] == static_cast<uint8_t>(ChunkMode::DeltaContext));
  // A gain the encoder is told is too small: the table coder's chunk.
  auto [sbase, sfine] = small_fixture();
  EncodeOptions demanding;
  demanding.adaptive_min_gain = 0.9;
  std::vector<uint8_t> kept;
  encode_chunk(sfine, sbase, dt, demanding, kept);
  CHECK(kept[0] != static_cast<uint8_t>(ChunkMode::DeltaAdaptive));
}

TEST_CASE("adaptive coder: every delta a word can hold round-trips, in BF16, F16 and F32") {
  // Identical words, one word, and deltas of every size: zero, one unit,
  // the largest (0x8000: +max against -max), signed zeros, NaN, inf, and
  // weights crossing zero (large key distances, coded past the ceiling).
  std::vector<uint16_t> specials = {0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc1, 0xffff,
                                    0x0001, 0x8001, 0x3c00, 0xbc00, 0x7f7f, 0xff7f};
  std::vector<uint8_t> sb, sf;
  for (uint16_t a : specials) {
    for (uint16_t b : specials) {
      put16(sb, a);
      put16(sf, b);
    }
  }
  for (const char* d : {"BF16", "F16"}) {
    CAPTURE(d);
    CHECK(through_adaptive(sf, sb, d) == sf);
    CHECK(through_adaptive(sb, sb, d) == sb);
    std::vector<uint8_t> one(sf.begin(), sf.begin() + 2), one_base(sb.begin(), sb.begin() + 2);
    CHECK(through_adaptive(one, one_base, d) == one);
    // A fine-tune with a few outliers, and unrelated words.
    auto base = test::bf16_weights(3000, 65);
    auto fine = test::bf16_finetune(base, 66);
    for (size_t i = 0; i < fine.size(); i += 202) {
      fine[i + 1] ^= 0x80;  // sign flips: far from the base in key order
    }
    CHECK(through_adaptive(fine, base, d) == fine);
    auto other = test::random_bytes(base.size(), 67);
    CHECK(through_adaptive(other, base, d) == other);
  }
  // F32: fine-tune words with noisy low bits, and random words.
  auto base32 = test::random_bytes(4 * 2000, 68);
  auto fine32 = base32;
  for (size_t i = 0; i < fine32.size(); i += 4) {
    fine32[i] ^= static_cast<uint8_t>(i * 37);
    fine32[i + 1] ^= static_cast<uint8_t>(i >> 3);
  }
  CHECK(through_adaptive(fine32, base32, "F32") == fine32);
  std::vector<uint8_t> extremes;
  for (uint32_t w : {0x00000000u, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fffffffu, 0xffffffffu,
                     0x00000001u, 0x80000001u}) {
    for (int k = 0; k < 4; ++k) {
      extremes.push_back(static_cast<uint8_t>(w >> (8 * k)));
    }
  }
  std::vector<uint8_t> reversed(extremes.rbegin(), extremes.rend());
  CHECK(through_adaptive(extremes, reversed, "F32") == extremes);
  CHECK(through_adaptive(reversed, extremes, "F32") == reversed);
  // Through the chunk codec, odd rest bytes included, every small length.
  const auto& bf16 = *dtype_by_name("BF16");
  auto base = test::bf16_weights(40, 69);
  auto fine = test::bf16_finetune(base, 70);
  for (size_t len = 1; len <= base.size(); ++len) {
    CAPTURE(len);
    std::vector<uint8_t> f(fine.begin(), fine.begin() + static_cast<std::ptrdiff_t>(len));
    std::vector<uint8_t> b(base.begin(), base.begin() + static_cast<std::ptrdiff_t>(len));
    std::vector<uint8_t> enc;
    EncodeOptions always;
    always.adaptive_min_gain = -10;  // take mode 6 whenever it applies
    encode_chunk(f, b, bf16, always, enc);
    // (the shortest are stored raw: a few bytes of header would not pay)
    CHECK((len < 16 || enc[0] == static_cast<uint8_t>(ChunkMode::DeltaAdaptive)));
    std::vector<uint8_t> out(len);
    REQUIRE(decode_chunk(enc, b, bf16, out));
    CHECK(out == f);
  }
  CHECK_FALSE(adaptive::supports(*dtype_by_name("F64")));
  CHECK_FALSE(adaptive::supports(*dtype_by_name("I16")));
  CHECK_FALSE(adaptive::supports(*dtype_by_name("F8_E4M3")));
}

TEST_CASE("adaptive coder: damaged mode-6 chunks are rejected or caught, never read past") {
  auto [base, fine] = small_fixture();
  const auto& dt = *dtype_by_name("BF16");
  std::vector<uint8_t> enc;
  encode_chunk(fine, base, dt, EncodeOptions{}, enc);
  REQUIRE(enc[0] == static_cast<uint8_t>(ChunkMode::DeltaAdaptive));
  std::vector<uint8_t> out(fine.size());
  // Every cut: the streams end early (or the rest is short).
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    CAPTURE(cut);
    std::vector<uint8_t> truncated(enc.begin(), enc.begin() + static_cast<std::ptrdiff_t>(cut));
    CHECK_FALSE(decode_chunk(truncated, base, dt, out));
  }
  auto longer = enc;
  longer.push_back(0);
  CHECK_FALSE(decode_chunk(longer, base, dt, out));
  // The header (ceiling, stream lengths): rejected or decoded to other
  // bytes. The coded stream has no redundancy of its own: a flipped bit
  // there decodes to other words, which the object's raw_sum catches; what
  // is checked here is that no damage makes the decoder read or write out
  // of bounds (the ASan run) or hang, and that none decodes to the original.
  for (size_t p = 1; p < enc.size(); p += (p < 16 ? 1 : 97)) {
    for (uint8_t flip : {uint8_t(0x01), uint8_t(0x10), uint8_t(0x80)}) {
      CAPTURE(p);
      auto bad = enc;
      bad[p] ^= flip;
      std::fill(out.begin(), out.end(), 0);
      Status st = decode_chunk(bad, base, dt, out);
      CHECK((!st || out != fine));
    }
  }
  // Another dtype's words under the same bytes: refused, not misread.
  CHECK_FALSE(decode_chunk(enc, base, *dtype_by_name("F64"), out));
  CHECK_FALSE(decode_chunk(enc, {}, dt, out));  // a delta without its base
}
