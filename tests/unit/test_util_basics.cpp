// util/: object ids, the thread pool.
#include <doctest/doctest.h>

#include <atomic>
#include <vector>

#include "util/hash.h"
#include "util/thread_pool.h"

using namespace zipllm;

TEST_CASE("ObjectId: hex round trip, strict parsing") {
  ObjectId id = object_id_of(ByteView(reinterpret_cast<const uint8_t*>("abc"), 3));
  auto back = ObjectId::from_hex(id.hex());
  REQUIRE(back);
  CHECK(*back == id);
  CHECK(id.hex().size() == 32);
  CHECK_FALSE(ObjectId::from_hex(id.hex().substr(1)));  // too short
  CHECK_FALSE(ObjectId::from_hex(id.hex() + "0"));      // too long
  CHECK_FALSE(
      ObjectId::from_hex("0123456789ABCDEF0123456789abcdef"));  // upper case is not canonical
  CHECK_FALSE(ObjectId::from_hex("0123456789abcdeg0123456789abcdef"));
  CHECK_FALSE(ObjectId::from_hex(".tmp-123-0-abcdef0123456789abcde"));
  CHECK(ObjectId().is_zero());
  CHECK_FALSE(id.is_zero());
}

TEST_CASE("thread pool: every task runs once, results come back, many submitters") {
  ThreadPool pool(3);
  CHECK(pool.size() == 3);
  std::vector<std::future<int>> fs;
  for (int i = 0; i < 500; ++i) {
    fs.push_back(pool.submit([i] { return i * i; }));
  }
  long sum = 0;
  for (int i = 0; i < 500; ++i) {
    int v = fs[static_cast<size_t>(i)].get();
    CHECK(v == i * i);
    sum += v;
  }
  CHECK(sum == 41541750);
  std::atomic<int> ran{0};
  {
    ThreadPool p2(2);
    std::vector<std::future<void>> vs;
    for (int i = 0; i < 100; ++i) {
      vs.push_back(p2.submit([&ran] { ++ran; }));
    }
    for (auto& v : vs) {
      v.get();
    }
  }
  CHECK(ran == 100);
}
