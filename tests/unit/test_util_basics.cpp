// util/: object ids, the thread pool.
#include <doctest/doctest.h>

#include <atomic>
#include <vector>

#include "util/async_digest.h"
#include "util/hash.h"
#include "util/progress.h"
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

TEST_CASE("progress: one line that fits the width, percentage, rate, time left") {
  std::string url =
      "push s3://models/a-very-long-prefix/for/a/team/with/many/models"
      "?endpoint=http://127.0.0.1:9000&region=us-east-1";
  std::string line = Progress::format_line(url, 600u << 20, 0, 45, 100, "objects", 2.0, 80);
  CHECK(line.size() < 80);
  CHECK(line.find("endpoint") == std::string::npos);  // query strings dropped
  CHECK(line.find("...") != std::string::npos);       // the label gave way, not the figures
  CHECK(line.find("45% (45/100 objects, 600.00 MiB), 315 MB/s, 2s left") != std::string::npos);
  std::string bytes =
      Progress::format_line("checkout m.safetensors", 1u << 30, 2u << 30, 0, 0, nullptr, 4.0, 120);
  CHECK(bytes == "checkout m.safetensors: 50% (1.00 GiB / 2.00 GiB), 268 MB/s, 4s left");
  std::string done =
      Progress::format_line("checkout m", 2u << 30, 2u << 30, 0, 0, nullptr, 130.0, 120);
  CHECK(done == "checkout m: 100% (2.00 GiB / 2.00 GiB), 17 MB/s, 2m10s");
  for (size_t w : {10u, 20u, 40u}) {
    CHECK(Progress::format_line(url, 1, 2, 0, 0, nullptr, 1.0, w).size() < w);
  }
}

TEST_CASE("async digest: pieces hashed in the order added, owners released, tiny queue bound") {
  // 300 pieces of varied sizes (some empty, some above the bound), from
  // shared buffers and copies: the SHA-256 and content id are those of the
  // concatenation, and each buffer is the caller's again once hashed.
  std::vector<uint8_t> all;
  std::vector<std::shared_ptr<ScratchBytes>> owners;
  for (int with_content = 0; with_content < 2; ++with_content) {
    CAPTURE(with_content);
    all.clear();
    owners.clear();
    AsyncDigest d(with_content == 1, 1000);
    for (size_t k = 0; k < 300; ++k) {
      const size_t n = (k * 7919) % 3001;  // 0 .. 3000
      auto buf = std::make_shared<ScratchBytes>(n);
      for (size_t i = 0; i < n; ++i) {
        (*buf)[i] = static_cast<uint8_t>(i * 31 + k);
      }
      all.insert(all.end(), buf->begin(), buf->end());
      if (k % 3 == 0) {
        d.add_copy(ByteView(buf->data(), buf->size()));
      } else {
        d.add(buf, ByteView(buf->data(), buf->size()));
        owners.push_back(buf);
      }
    }
    const auto got = d.finish();
    Sha256 direct;
    direct.update(all);
    CHECK(got.sha256 == direct.finish());
    CHECK(got.content == (with_content ? object_id_of(all) : ObjectId{}));
    for (const auto& o : owners) {
      CHECK(o.use_count() == 1);
    }
  }
}
