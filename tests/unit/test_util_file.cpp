#include <doctest/doctest.h>
#include <fcntl.h>

#include "helpers.h"
#include "util/buffer.h"
#include "util/file.h"

using namespace zipllm;

TEST_CASE("hash_file_range is the object id of the range's bytes") {
  test::ScratchDir dir;
  auto data = test::random_bytes(100000, 9);
  test::write_file(dir.path("f"), data);
  auto fd = open_read(dir.path("f"));
  REQUIRE(fd);
  auto id = hash_file_range(fd->get(), 777, 50000, "f");
  REQUIRE(id);
  CHECK(*id == object_id_of(ByteView(data.data() + 777, 50000)));
  auto whole = hash_file_range(fd->get(), 0, data.size(), "f");
  REQUIRE(whole);
  CHECK(*whole == object_id_of(data));
  // Past the end of the file: an error, not a crash (mapping pages past EOF
  // would fault).
  CHECK(!hash_file_range(fd->get(), 0, data.size() + 8192, "f"));
}

TEST_CASE("AtomicFile publishes on commit only, durable or not") {
  test::ScratchDir dir;
  for (bool durable : {true, false}) {
    std::string path = dir.path(durable ? "d" : "n");
    {
      auto f = AtomicFile::create(path, 0640, durable);
      REQUIRE(f);
      REQUIRE(f->write(test::random_bytes(10, 1)));
      CHECK(!path_exists(path));
    }  // dropped without commit: nothing published, temp removed
    CHECK(!path_exists(path));
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                        std::filesystem::directory_iterator()) == (durable ? 0 : 1));
    auto f = AtomicFile::create(path, 0640, durable);
    REQUIRE(f);
    REQUIRE(f->pwrite(3, test::random_bytes(5, 2)));
    REQUIRE(f->pwrite(0, test::random_bytes(3, 3)));
    REQUIRE(f->commit());
    auto back = read_whole_file(path, 100);
    REQUIRE(back);
    CHECK(back->size() == 8);
  }
}

TEST_CASE("ScratchBytes keeps its bytes across shrinking and regrowing") {
  ScratchBytes b(100);
  for (size_t i = 0; i < b.size(); ++i) {
    b[i] = static_cast<uint8_t>(i);
  }
  b.resize(10);
  b.resize(100);
  CHECK(b[5] == 5);
  CHECK(b[99] == 99);
}
