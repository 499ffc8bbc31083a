// Pack files (docs/FORMAT.md §4): what is written is found again; any
// damage to the index, trailer or header is refused when opening.
#include <doctest/doctest.h>

#include "helpers.h"
#include "store/pack.h"

using namespace zipllm;

namespace {

std::string write_pack(const test::ScratchDir& dir, std::vector<ObjectId>& ids) {
  std::string path = dir.path("p.zpk");
  auto w = store::PackWriter::open_new(path);
  REQUIRE(w);
  for (int i = 0; i < 5; ++i) {
    auto bytes = test::random_bytes(1000 + 100 * static_cast<size_t>(i), static_cast<uint64_t>(i));
    ObjectId id = object_id_of(bytes);
    auto out = (*w)->create(id, bytes.size());
    REQUIRE(out);
    REQUIRE((*out)->append(bytes));
    REQUIRE((*out)->commit());
    ids.push_back(id);
  }
  REQUIRE((*w)->publish("manifest text"));
  return path;
}

}  // namespace

TEST_CASE("pack: every object found at its place, the manifest kept") {
  test::ScratchDir dir;
  std::vector<ObjectId> ids;
  auto path = write_pack(dir, ids);
  auto r = store::PackReader::open(path);
  REQUIRE(r);
  CHECK((*r)->manifest() == "manifest text");
  CHECK((*r)->ids().size() == ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto loc = (*r)->locate(ids[i]);
    REQUIRE(loc);
    REQUIRE(*loc);
    std::vector<uint8_t> back((*loc)->length);
    REQUIRE(read_exact_at((*loc)->fd->get(), (*loc)->offset, back, path));
    CHECK(object_id_of(back) == ids[i]);
  }
  auto none = (*r)->locate(object_id_of(ByteView()));
  REQUIRE(none);
  CHECK_FALSE(*none);
}

TEST_CASE("pack: a damaged index, trailer or header is refused, naming the file") {
  test::ScratchDir dir;
  std::vector<ObjectId> ids;
  auto path = write_pack(dir, ids);
  auto good = read_whole_file(path, 1 << 20);
  REQUIRE(good);
  const size_t n = good->size();
  for (size_t at : {size_t(0), size_t(4), n - 1, n - 10, n - 30, n - 44 - 5, n - 44 - 40}) {
    auto bad = *good;
    bad[at] ^= 0x5a;
    test::write_file(dir.path("bad.zpk"), bad);
    CAPTURE(at);
    auto r = store::PackReader::open(dir.path("bad.zpk"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("bad.zpk") != std::string::npos);
  }
  for (size_t len : {size_t(0), size_t(7), n - 1}) {
    test::write_file(
        dir.path("short.zpk"),
        std::vector<uint8_t>(good->begin(), good->begin() + static_cast<ptrdiff_t>(len)));
    CHECK_FALSE(store::PackReader::open(dir.path("short.zpk")));
  }
}
