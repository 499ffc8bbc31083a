#include <doctest/doctest.h>

#include "format/safetensors.h"
#include "helpers.h"

using namespace zipllm;
using namespace zipllm::format;
using zipllm::test::FakeTensor;
using zipllm::test::make_safetensors;

namespace {

Result<Header> parse_bytes(const std::vector<uint8_t>& file) {
  uint64_t n = TRY(
      parse_header_length(ByteView(file.data(), std::min<size_t>(8, file.size())), file.size()));
  return parse_header(ByteView(file.data() + 8, n), file.size());
}

std::vector<uint8_t> with_header(const std::string& json, size_t data_bytes) {
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(uint64_t(json.size()) >> (8 * i));
  }
  out.insert(out.end(), json.begin(), json.end());
  out.resize(out.size() + data_bytes, 0);
  return out;
}

std::string error_of(const std::vector<uint8_t>& file) {
  auto r = parse_bytes(file);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == Errc::InvalidArgument);
  return r.error().message;
}

}  // namespace

TEST_CASE("safetensors: valid file with metadata, every dtype, sorted by offset") {
  std::vector<FakeTensor> ts;
  const char* names[] = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2", "I64",  "I32",
                         "I16", "I8",  "U64", "U32",  "U16",     "U8",      "BOOL", "C64"};
  for (const char* d : names) {
    const DtypeInfo* info = dtype_by_name(d);
    REQUIRE(info);
    ts.push_back({std::string("t_") + d, d, {3}, std::vector<uint8_t>(3 * info->bits / 8, 7)});
  }
  auto file = make_safetensors(ts, R"({"format":"pt"})");
  auto h = parse_bytes(file);
  REQUIRE(h);
  CHECK(h->tensors.size() == ts.size());
  CHECK(h->tail_size == 0);
  for (size_t i = 1; i < h->tensors.size(); ++i) {
    CHECK(h->tensors[i].begin == h->tensors[i - 1].end);
  }
}

TEST_CASE("safetensors: empty tensors, 1-byte tensors, scalars and a kept tail") {
  auto file = make_safetensors(
      {{"empty", "F32", {0, 5}, {}}, {"one", "U8", {1}, {42}}, {"scalar", "F32", {}, {1, 2, 3, 4}}},
      "", 8, {9, 9, 9});
  auto h = parse_bytes(file);
  REQUIRE(h);
  CHECK(h->tensors.size() == 3);
  CHECK(h->tail_size == 3);
}

TEST_CASE("safetensors: malformed inputs are rejected with a message naming the problem") {
  CHECK(error_of({}).find("8-byte header length") != std::string::npos);
  CHECK(error_of({1, 2, 3}).find("8-byte header length") != std::string::npos);
  {
    std::vector<uint8_t> f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    CHECK(error_of(f).find("100 MB") != std::string::npos);
  }
  // Issue 11: a JSON file given as a base said "header length
  // 7306087010016430715 exceeds…"; it names what the file is instead.
  {
    std::string json = "{\n  \"architectures\": [\"LlamaForCausalLM\"]\n}\n";
    std::vector<uint8_t> f(json.begin(), json.end());
    std::string e = error_of(f);
    CHECK(e.find("not a safetensors file") != std::string::npos);
    CHECK(e.find("JSON") != std::string::npos);
    CHECK(e.find("7306") == std::string::npos);
    std::vector<uint8_t> zip = {'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0, 0, 0};
    CHECK(error_of(zip).find("zip archive") != std::string::npos);
  }
  {
    auto f = with_header("{}", 0);
    f[0] = 200;  // longer than the file
    CHECK(error_of(f).find("truncated") != std::string::npos);
  }
  CHECK(error_of(with_header("{\"a\":", 0)).find("not valid JSON") != std::string::npos);
  CHECK(error_of(with_header("[1,2]", 0)).find("'{'") != std::string::npos);
  CHECK(error_of(with_header(R"({"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}})", 4))
            .find("unknown dtype 'F17'") != std::string::npos);
  CHECK(error_of(with_header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4))
            .find("tensor 'w': shape [2] of F32 needs 8 bytes") != std::string::npos);
  CHECK(error_of(with_header(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 2))
            .find("run past") != std::string::npos);
  CHECK(error_of(with_header(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                             6))
            .find("overlap") != std::string::npos);
  CHECK(error_of(with_header(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})", 4))
            .find("gap") != std::string::npos);
  CHECK(error_of(with_header(R"({"a":{"dtype":"U8","shape":[-2],"data_offsets":[0,2]}})", 2))
            .find("non-negative") != std::string::npos);
  CHECK(error_of(with_header(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[4,2]}})", 4))
            .find("after end") != std::string::npos);
  CHECK(error_of(with_header(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2],"x":1}})", 2))
            .find("unexpected key 'x'") != std::string::npos);
  CHECK(error_of(with_header(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,4294967296]
                             ,"data_offsets":[0,2]}})",
                             2))
            .find("too large") != std::string::npos);
  CHECK(error_of(with_header(R"({"__metadata__":{"k":1}})", 0)).find("__metadata__") !=
        std::string::npos);
}
