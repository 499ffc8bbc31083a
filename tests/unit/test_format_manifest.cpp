#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "format/manifest.h"
#include "helpers.h"

using namespace zipllm;
using namespace zipllm::format;

namespace {

Manifest sample() {
  Manifest m;
  m.size = 1234;
  for (int i = 0; i < 32; ++i) {
    m.sha256[i] = static_cast<uint8_t>(i * 7);
  }
  m.header_id = object_id_of(ByteView(reinterpret_cast<const uint8_t*>("{}"), 2));
  m.header_len = 120;
  ManifestTensor a;
  a.id = object_id_of(ByteView(reinterpret_cast<const uint8_t*>("a"), 1));
  a.info = {"model.embed_tokens.weight", Dtype::BF16, {512, 64}, 0, 65536};
  ManifestTensor b;
  b.id = object_id_of(ByteView());
  b.info = {"odd name \"with\" spaces\n", Dtype::F32, {}, 65536, 65540};
  m.tensors = {a, b};
  m.has_tail = true;
  m.tail_id = a.id;
  m.tail_len = 3;
  return m;
}

std::string golden_path() {
  return std::string(ZIPLLM_TEST_DATA) + "/golden/manifest_v1.txt";
}

}  // namespace

TEST_CASE("manifest: serialize/parse round-trip is byte-exact") {
  std::string text = serialize_manifest(sample());
  auto m = parse_manifest(text);
  REQUIRE(m);
  CHECK(serialize_manifest(*m) == text);
  CHECK(m->tensors[1].info.name == "odd name \"with\" spaces\n");
  CHECK(looks_like_manifest(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
}

TEST_CASE("manifest: golden file v1 decodes and re-encodes to the same bytes") {
  if (std::getenv("ZIPLLM_UPDATE_GOLDEN")) {
    std::string t = serialize_manifest(sample());
    test::write_file(golden_path(), std::vector<uint8_t>(t.begin(), t.end()));
  }
  std::ifstream in(golden_path(), std::ios::binary);
  REQUIRE_MESSAGE(in, "missing " << golden_path());
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(serialize_manifest(sample()) == ss.str());
  auto m = parse_manifest(ss.str());
  REQUIRE(m);
  CHECK(m->tensors.size() == 2);
}

TEST_CASE("manifest: golden file of the generic form (a file that is not safetensors)") {
  Manifest g;
  g.generic = true;
  g.size = 10;
  g.sha256 = sample().sha256;
  g.data = {{object_id_of(ByteView(reinterpret_cast<const uint8_t*>("a"), 1)), 7},
            {object_id_of(ByteView(reinterpret_cast<const uint8_t*>("b"), 1)), 3}};
  std::string path = std::string(ZIPLLM_TEST_DATA) + "/golden/manifest_v1_generic.txt";
  if (std::getenv("ZIPLLM_UPDATE_GOLDEN")) {
    std::string t = serialize_manifest(g);
    test::write_file(path, std::vector<uint8_t>(t.begin(), t.end()));
  }
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, "missing " << path);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(serialize_manifest(g) == ss.str());
  auto m = parse_manifest(ss.str());
  REQUIRE(m);
  CHECK(m->generic);
  CHECK(m->data.size() == 2);
}

TEST_CASE("manifest: non-canonical or malformed text is rejected") {
  std::string text = serialize_manifest(sample());
  auto reject = [](const std::string& t) { CHECK_FALSE(parse_manifest(t)); };
  reject("");
  reject("hello\n");
  reject(text + "\n");
  reject(text.substr(0, text.size() - 1));
  std::string t = text;
  t.replace(t.find("size 1234"), 9, "size 01234");
  reject(t);
  t = text;
  t.replace(t.find("BF16"), 4, "BF17");
  reject(t);
  t = text;
  t.replace(t.find("[512,64]"), 8, "[512, 64]");
  reject(t);
  t = text;
  t[t.find("tensor ") + 7] = 'G';
  reject(t);
}

TEST_CASE("manifest: generic files (parts) round-trip; parts must add up to the size") {
  Manifest m;
  m.generic = true;
  m.size = 10;
  m.data = {{object_id_of(ByteView(reinterpret_cast<const uint8_t*>("a"), 1)), 7},
            {object_id_of(ByteView(reinterpret_cast<const uint8_t*>("b"), 1)), 3}};
  std::string text = serialize_manifest(m);
  CHECK(text.find("\ngeneric\ndata ") != std::string::npos);
  auto back = parse_manifest(text);
  REQUIRE(back);
  CHECK(back->generic);
  CHECK(serialize_manifest(*back) == text);
  CHECK(object_ids(*back).size() == 2);

  Manifest empty;
  empty.generic = true;
  auto e = parse_manifest(serialize_manifest(empty));
  REQUIRE(e);
  CHECK(e->data.empty());

  m.size = 11;  // parts sum to 10
  CHECK_FALSE(parse_manifest(serialize_manifest(m)));
  m.size = 10;
  m.data[1].len = 0;  // empty part
  m.size = 7;
  CHECK_FALSE(parse_manifest(serialize_manifest(m)));
  // "generic" only where the header line would be; no tensors after it.
  std::string mixed =
      serialize_manifest(*back) + "tensor " + std::string(32, '0') + " U8 [1] 0 1 \"x\"\n";
  CHECK_FALSE(parse_manifest(mixed));
}
