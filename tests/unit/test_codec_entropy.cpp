// The stream coders: every coder round-trips, the smallest is chosen, bad
// records are refused.
#include <doctest/doctest.h>

#include "codec/entropy.h"
#include "helpers.h"

using namespace zipllm;
using namespace zipllm::codec;

namespace {

std::vector<uint8_t> round_trip(const std::vector<uint8_t>& in, const Policy& p) {
  std::vector<uint8_t> enc;
  encode_stream(in, p, enc);
  size_t pos = 0;
  std::vector<uint8_t> out;
  REQUIRE(decode_stream(enc, pos, out, in.size()));
  CHECK(pos == enc.size());
  return out;
}

}  // namespace

TEST_CASE("entropy: round trips for every kind of stream and policy") {
  std::vector<std::vector<uint8_t>> inputs = {
      {},
      std::vector<uint8_t>(1, 7),
      std::vector<uint8_t>(100000, 42),  // constant
      test::random_bytes(100000, 1),     // incompressible
      test::bf16_weights(50000, 2),      // skewed
  };
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    text += "tensor layers." + std::to_string(i % 37) + ".weight ";
  }
  inputs.emplace_back(text.begin(), text.end());  // LZ material
  for (const auto& in : inputs) {
    for (Policy p : {Policy{}, Policy{true, true, false, 3}, Policy{true, false, true, 3},
                     Policy{false, false, false, 3}}) {
      CAPTURE(in.size());
      CHECK(round_trip(in, p) == in);
    }
  }
}

TEST_CASE("entropy: the smallest record wins; raw bounds the size") {
  auto random = test::random_bytes(50000, 9);
  std::vector<uint8_t> enc;
  encode_stream(random, Policy{true, true, true, 3}, enc);
  CHECK(enc.size() <= random.size() + k_record_overhead);  // never worse than raw
  std::vector<uint8_t> constant(50000, 3);
  enc.clear();  // encode_stream appends
  encode_stream(constant, Policy{}, enc);
  CHECK(enc.size() <= k_record_overhead + 1);
  CHECK(enc[0] == static_cast<uint8_t>(Coder::Const));
}

TEST_CASE("entropy: damaged records are refused, never overrun") {
  auto in = test::bf16_weights(20000, 3);
  std::vector<uint8_t> enc;
  encode_stream(in, Policy{}, enc);
  std::vector<uint8_t> out;
  for (size_t cut : {size_t(0), size_t(1), size_t(5), enc.size() / 2, enc.size() - 1}) {
    std::vector<uint8_t> part(enc.begin(), enc.begin() + static_cast<ptrdiff_t>(cut));
    size_t pos = 0;
    CHECK_FALSE(decode_stream(part, pos, out, in.size()));
  }
  size_t pos = 0;
  CHECK_FALSE(decode_stream(enc, pos, out, in.size() + 1));  // a length other than recorded
  auto bad = enc;
  bad[0] = 9;  // no such coder
  pos = 0;
  CHECK_FALSE(decode_stream(bad, pos, out, in.size()));
}
