#include <doctest/doctest.h>

#include "codec/chunk.h"
#include "helpers.h"

using namespace zipllm;
using namespace zipllm::codec;
using format::dtype_by_name;

namespace {

std::vector<uint8_t> roundtrip(ByteView raw, ByteView base, const char* dtype) {
  const auto& dt = *dtype_by_name(dtype);
  std::vector<uint8_t> enc;
  encode_chunk(raw, base, dt, EncodeOptions{}, enc);
  std::vector<uint8_t> again;
  encode_chunk(raw, base, dt, EncodeOptions{}, again);
  CHECK(enc == again);  // deterministic
  std::vector<uint8_t> out(raw.size());
  Status s = decode_chunk(enc, base, dt, out);
  REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
  return out;
}

const char* k_dtypes[] = {"BF16", "F16", "F32", "F64",  "F8_E4M3", "F8_E5M2", "I64", "I32",
                          "I16",  "I8",  "U8",  "BOOL", "C64",     "U16",     "U32", "U64"};

}  // namespace

TEST_CASE("chunk codec: every dtype and edge length round-trips, solo and delta") {
  for (const char* d : k_dtypes) {
    for (size_t len : {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 1000, 4097, 65536 + 6}) {
      CAPTURE(d);
      CAPTURE(len);
      auto raw = test::random_bytes(len, len * 31 + 1);
      CHECK(roundtrip(raw, {}, d) == raw);
      auto base = test::random_bytes(len, len * 17 + 2);
      CHECK(roundtrip(raw, base, d) == raw);
      CHECK(roundtrip(raw, raw, d) == raw);  // identical base
    }
  }
}

TEST_CASE("chunk codec: odd-length tensors keep their last byte (the reference BitX bug)") {
  auto base = test::random_bytes(4095, 5);
  auto fine = base;
  fine.back() ^= 0x5a;
  auto out = roundtrip(fine, base, "BF16");
  CHECK(out.back() == fine.back());
  CHECK(out == fine);
}

TEST_CASE("chunk codec: a shorter base covers a prefix (grown vocabulary)") {
  auto base = test::bf16_weights(512 * 64, 1);
  auto fine_prefix = test::bf16_finetune(base, 2);
  auto extra = test::bf16_weights(64 * 64, 3);
  std::vector<uint8_t> fine = fine_prefix;
  fine.insert(fine.end(), extra.begin(), extra.end());
  const auto& dt = *dtype_by_name("BF16");
  std::vector<uint8_t> with_base, without;
  encode_chunk(fine, base, dt, EncodeOptions{}, with_base);
  encode_chunk(fine, {}, dt, EncodeOptions{}, without);
  CHECK(with_base[0] == static_cast<uint8_t>(ChunkMode::Prefix));
  CHECK(with_base.size() < without.size());
  std::vector<uint8_t> out(fine.size());
  REQUIRE(decode_chunk(with_base, base, dt, out));
  CHECK(out == fine);
  // A longer base is used over the tensor's length.
  auto longer = base;
  longer.insert(longer.end(), extra.begin(), extra.end());
  CHECK(roundtrip(fine_prefix, longer, "BF16") == fine_prefix);
}

TEST_CASE("chunk codec: delta beats solo on a fine-tune and never loses on unrelated data") {
  const auto& dt = *dtype_by_name("BF16");
  auto base = test::bf16_weights(1 << 16, 11);
  auto fine = test::bf16_finetune(base, 12, 0.005f);
  std::vector<uint8_t> delta, solo;
  encode_chunk(fine, base, dt, EncodeOptions{}, delta);
  encode_solo(fine, dt, Policy{}, solo);
  CHECK(delta.size() < solo.size() * 0.8);
  auto unrelated = test::bf16_weights(1 << 16, 99);
  std::vector<uint8_t> against;
  encode_chunk(fine, unrelated, dt, EncodeOptions{}, against);
  CHECK(against.size() <= solo.size());
}

TEST_CASE("chunk codec: incompressible data grows by at most a few bytes") {
  auto raw = test::random_bytes(100000, 7);
  for (const char* d : {"U8", "BF16", "F32"}) {
    std::vector<uint8_t> enc;
    encode_chunk(raw, {}, *dtype_by_name(d), EncodeOptions{}, enc);
    CHECK(enc.size() <= raw.size() + 1);
  }
}

TEST_CASE("chunk codec: float specials (signed zeros, NaN, inf) survive deltas") {
  std::vector<uint16_t> vals = {0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc1, 0xffff, 0x0001, 0x8001};
  std::vector<uint8_t> raw, base;
  for (size_t i = 0; i < vals.size(); ++i) {
    for (size_t j = 0; j < vals.size(); ++j) {
      raw.push_back(static_cast<uint8_t>(vals[i]));
      raw.push_back(static_cast<uint8_t>(vals[i] >> 8));
      base.push_back(static_cast<uint8_t>(vals[j]));
      base.push_back(static_cast<uint8_t>(vals[j] >> 8));
    }
  }
  CHECK(roundtrip(raw, base, "BF16") == raw);
  CHECK(roundtrip(raw, base, "F16") == raw);
}

TEST_CASE("chunk codec: corrupt encodings are rejected, not crashed on") {
  const auto& dt = *dtype_by_name("BF16");
  auto base = test::bf16_weights(4096, 1);
  auto fine = test::bf16_finetune(base, 2);
  std::vector<uint8_t> enc;
  encode_chunk(fine, base, dt, EncodeOptions{}, enc);
  std::vector<uint8_t> out(fine.size());
  for (size_t cut : {size_t(0), size_t(1), size_t(5), enc.size() / 2, enc.size() - 1}) {
    std::vector<uint8_t> truncated(enc.begin(), enc.begin() + static_cast<std::ptrdiff_t>(cut));
    CHECK_FALSE(decode_chunk(truncated, base, dt, out));
  }
  std::vector<uint8_t> bad = enc;
  bad[0] = 9;
  CHECK_FALSE(decode_chunk(bad, base, dt, out));
  CHECK_FALSE(decode_chunk(enc, {}, dt, out));  // delta without its base
}

namespace {

// The fixture of tests/data/golden/chunk_delta_mode2.bin: 70,001 BF16
// weights, a fine-tune of them, and one odd trailing byte each.
std::pair<std::vector<uint8_t>, std::vector<uint8_t>> delta_fixture() {
  auto base = test::bf16_weights(70001, 11);
  auto fine = test::bf16_finetune(base, 12);
  fine.push_back(0x5a);
  base.push_back(0xa5);
  return {base, fine};
}

}  // namespace

// F32 words from the BF16 fixture (the BF16 value in the top half, noise
// below), so 4-byte words get a realistic exponent spread.
static std::vector<uint8_t> widen(const std::vector<uint8_t>& bf16, uint32_t seed) {
  std::vector<uint8_t> out;
  uint32_t r = seed;
  for (size_t i = 0; i + 1 < bf16.size(); i += 2) {
    r = r * 1664525u + 1013904223u;
    out.push_back(static_cast<uint8_t>(r >> 24));
    out.push_back(static_cast<uint8_t>(r >> 16));
    out.push_back(bf16[i]);
    out.push_back(bf16[i + 1]);
  }
  return out;
}

TEST_CASE(
    "chunk codec: large BF16 split deltas are context-coded (mode 5), locked by a golden file") {
  auto [base, fine] = delta_fixture();
  const auto& dt = *dtype_by_name("BF16");
  std::vector<uint8_t> enc;
  encode_chunk(fine, base, dt, EncodeOptions{}, enc);
  REQUIRE(enc[0] == static_cast<uint8_t>(ChunkMode::DeltaContext));
  std::string golden = std::string(ZIPLLM_TEST_DATA) + "/golden/chunk_delta_mode5.bin";
  if (std::getenv("ZIPLLM_UPDATE_GOLDEN")) {
    test::write_file(golden, enc);
  }
  auto locked = read_whole_file(golden, 1 << 20);
  REQUIRE_MESSAGE(locked, "missing " << golden);
  CHECK(*locked == enc);  // the encoder is deterministic and mode 5 unchanged
  std::vector<uint8_t> out(fine.size());
  REQUIRE(decode_chunk(*locked, base, dt, out));
  CHECK(out == fine);
  // Same statistics as the sub-streams: within 1 % of the mode-4 form.
  auto m4 =
      read_whole_file(std::string(ZIPLLM_TEST_DATA) + "/golden/chunk_delta_mode4.bin", 1 << 20);
  REQUIRE(m4);
  CHECK(double(enc.size()) < 1.01 * double(m4->size()));
}

TEST_CASE("chunk codec: mode-4 chunks still decode, and wider words are still written as mode 4") {
  auto [base, fine] = delta_fixture();
  auto m4 =
      read_whole_file(std::string(ZIPLLM_TEST_DATA) + "/golden/chunk_delta_mode4.bin", 1 << 20);
  REQUIRE(m4);
  REQUIRE((*m4)[0] == static_cast<uint8_t>(ChunkMode::DeltaBuckets));
  std::vector<uint8_t> out(fine.size());
  REQUIRE(decode_chunk(*m4, base, *dtype_by_name("BF16"), out));
  CHECK(out == fine);
  base.pop_back();
  fine.pop_back();
  auto base32 = widen(base, 1);
  auto fine32 = widen(fine, 2);
  const auto& f32 = *dtype_by_name("F32");
  std::vector<uint8_t> enc;
  encode_chunk(fine32, base32, f32, EncodeOptions{}, enc);
  CHECK(enc[0] == static_cast<uint8_t>(ChunkMode::DeltaBuckets));
  std::vector<uint8_t> out32(fine32.size());
  REQUIRE(decode_chunk(enc, base32, f32, out32));
  CHECK(out32 == fine32);
}

TEST_CASE("chunk codec: mode-2 split deltas written before the bucket table still decode") {
  auto [base, fine] = delta_fixture();
  auto old =
      read_whole_file(std::string(ZIPLLM_TEST_DATA) + "/golden/chunk_delta_mode2.bin", 1 << 20);
  REQUIRE(old);
  REQUIRE((*old)[0] == static_cast<uint8_t>(ChunkMode::Delta));
  std::vector<uint8_t> out(fine.size());
  REQUIRE(decode_chunk(*old, base, *dtype_by_name("BF16"), out));
  CHECK(out == fine);
}

TEST_CASE("chunk codec: a bucket table that does not fit the base or is damaged is rejected") {
  auto [base, fine] = delta_fixture();
  const auto& dt = *dtype_by_name("BF16");
  auto locked =
      read_whole_file(std::string(ZIPLLM_TEST_DATA) + "/golden/chunk_delta_mode4.bin", 1 << 20);
  REQUIRE(locked);
  const std::vector<uint8_t>& enc = *locked;
  std::vector<uint8_t> out(fine.size());
  // Another base: its exponents fall into the buckets in other numbers.
  auto other = test::bf16_weights(70001, 99, 0.5f);
  other.push_back(0);
  Status st = decode_chunk(enc, other, dt, out);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Errc::Corrupt);
  // Damage inside the table (its first bytes): detected, never a crash or
  // an out-of-bounds read (the ASan run checks the latter).
  for (size_t pos = 1; pos < 40; ++pos) {
    for (uint8_t flip : {uint8_t(0x01), uint8_t(0x80)}) {
      auto bad = enc;
      bad[pos] ^= flip;
      CAPTURE(pos);
      CHECK_FALSE(decode_chunk(bad, base, dt, out));
    }
  }
}
