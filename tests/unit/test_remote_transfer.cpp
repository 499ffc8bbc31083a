// The transfer engine's pure parts: retry, parallel_for, the closure of
// objects over delta bases.
#include <doctest/doctest.h>

#include <atomic>
#include <set>

#include "helpers.h"
#include "ops/ingest.h"
#include "remote/transfer.h"
#include "store/local_store.h"

using namespace zipllm;

TEST_CASE("with_retry: transient errors are retried up to the limit, others never") {
  remote::TransferOptions o;
  o.attempts = 3;
  o.backoff_ms = 1;
  int calls = 0;
  Status s = remote::with_retry(o, [&]() -> Status {
    ++calls;
    return calls < 3 ? Status(make_error(Errc::Unavailable, "blip")) : Status();
  });
  CHECK(s);
  CHECK(calls == 3);
  calls = 0;
  s = remote::with_retry(o, [&]() -> Status {
    ++calls;
    return make_error(Errc::Unavailable, "down");
  });
  CHECK_FALSE(s);
  CHECK(calls == 3);
  calls = 0;
  s = remote::with_retry(o, [&]() -> Status {
    ++calls;
    return make_error(Errc::InvalidArgument, "denied");
  });
  CHECK_FALSE(s);
  CHECK(calls == 1);
}

TEST_CASE("parallel_for: every index once, the first error returned, no new work after it") {
  std::atomic<int> sum{0};
  CHECK(remote::parallel_for(1000, 8, [&](size_t i) -> Status {
    sum += static_cast<int>(i);
    return {};
  }));
  CHECK(sum == 999 * 1000 / 2);
  std::atomic<int> ran{0};
  Status s = remote::parallel_for(1000, 4, [&](size_t i) -> Status {
    ++ran;
    return i == 10 ? Status(make_error(Errc::IoError, "ten")) : Status();
  });
  REQUIRE_FALSE(s);
  CHECK(s.error().message == "ten");
  CHECK(ran < 1000);
  CHECK(remote::parallel_for(0, 4,
                             [](size_t) -> Status { return make_error(Errc::Internal, "never"); }));
}

TEST_CASE("parallel_for: an exception in a worker is an error, not the end of the process") {
  Status s = remote::parallel_for(100, 4, [&](size_t i) -> Status {
    if (i == 7) {
      throw std::runtime_error("seven");
    }
    return {};
  });
  REQUIRE_FALSE(s);
  CHECK(s.error().message.find("seven") != std::string::npos);
}

TEST_CASE("object closure: delta bases after the objects that need them; a missing one is named") {
  test::ScratchDir dir;
  ThreadPool pool(2);
  auto store = store::LocalStore::open(dir.path("s"), 0);
  REQUIRE(store);
  auto base_bytes = test::bf16_weights(100000, 1);
  auto base = test::make_safetensors({{"t", "BF16", {100000}, base_bytes}});
  auto fine = test::make_safetensors({{"t", "BF16", {100000}, test::bf16_finetune(base_bytes, 2)}});
  test::write_file(dir.path("base.safetensors"), base);
  test::write_file(dir.path("fine.safetensors"), fine);
  store::Resolver r;
  r.add_source(store->get());
  auto mb = ops::ingest_file(dir.path("base.safetensors"), nullptr, r, **store, pool, {}, nullptr);
  REQUIRE(mb);
  ops::BaseModel bm;
  REQUIRE(bm.add_manifest(*mb, "base"));
  auto mf = ops::ingest_file(dir.path("fine.safetensors"), &bm, r, **store, pool, {}, nullptr);
  REQUIRE(mf);
  const ObjectId fine_t = mf->tensors[0].id, base_t = mb->tensors[0].id;
  auto ids = store::object_closure(**store, {fine_t});
  REQUIRE(ids);
  CHECK(*ids == std::vector<ObjectId>{fine_t, base_t});
  REQUIRE(::unlink((*store)->path_of(base_t).c_str()) == 0);
  auto missing = store::object_closure(**store, {fine_t});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == Errc::NotFound);
  CHECK(missing.error().message.find(base_t.hex()) != std::string::npos);
  CHECK(missing.error().message.find("delta base of " + fine_t.hex()) != std::string::npos);
}
