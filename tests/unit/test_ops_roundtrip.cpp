#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "helpers.h"
#include "ops/ingest.h"
#include "ops/restore.h"
#include "store/local_store.h"
#include "store/pack.h"

using namespace zipllm;

namespace {

struct Env {
  test::ScratchDir dir;
  ThreadPool pool{2};
  ops::IngestOptions opts;
  Env() { opts.chunk_size = 4096; }  // small chunks: every boundary case on KB-sized data
};

std::vector<uint8_t> model(uint64_t seed, bool finetune_of_seed1 = false) {
  auto emb = test::bf16_weights(300 * 16, 1);
  auto w = test::bf16_weights(5000, 2);
  if (finetune_of_seed1) {
    emb = test::bf16_finetune(emb, seed);
    w = test::bf16_finetune(w, seed + 1);
  }
  std::vector<uint8_t> f32(4 * 33);
  for (size_t i = 0; i < f32.size(); ++i) {
    f32[i] = static_cast<uint8_t>(i * seed);
  }
  return test::make_safetensors({{"embed", "BF16", {300, 16}, emb},
                                 {"w", "BF16", {5000}, w},
                                 {"empty", "F16", {0}, {}},
                                 {"one", "U8", {1}, {static_cast<uint8_t>(seed)}},
                                 {"f32", "F32", {33}, f32},
                                 {"tied", "BF16", {5000}, w}},
                                R"({"format":"pt"})");
}

}  // namespace

TEST_CASE("ops: pack round-trip without and with a base file; bytes identical") {
  Env e;
  auto base = model(1);
  auto fine = model(7, true);
  test::write_file(e.dir.path("base.safetensors"), base);
  test::write_file(e.dir.path("fine.safetensors"), fine);

  for (bool use_base : {false, true}) {
    CAPTURE(use_base);
    store::Resolver resolver;
    ops::BaseModel bm;
    if (use_base) {
      REQUIRE(bm.add_file(e.dir.path("base.safetensors"), resolver));
    }
    std::string pack_path = e.dir.path(use_base ? "delta.pack" : "solo.pack");
    auto pack = *store::PackWriter::open_new(pack_path);
    ops::IngestReport rep;
    auto m = ops::ingest_file(e.dir.path("fine.safetensors"), use_base ? &bm : nullptr, resolver,
                              *pack, e.pool, e.opts, &rep);
    REQUIRE(m);
    REQUIRE(pack->publish(format::serialize_manifest(*m)));
    CHECK(rep.tensors.size() == 6);
    CHECK(rep.tensors[5].reused == (rep.tensors[5].name == "tied" || rep.tensors[5].name == "w"));

    auto reader = *store::PackReader::open(pack_path);
    auto m2 = format::parse_manifest(reader->manifest());
    REQUIRE(m2);
    CHECK(format::serialize_manifest(*m2) == format::serialize_manifest(*m));
    store::Resolver r2;
    r2.add_source(reader.get());
    ops::BaseModel bm2;
    if (use_base) {
      // Without the base the restore must fail cleanly, leaving no file.
      std::string out = e.dir.path("nobase.out");
      Status s = ops::restore_file(*m2, r2, out, e.pool, {});
      REQUIRE_FALSE(s);
      CHECK(s.error().code == Errc::NotFound);
      CHECK_FALSE(path_exists(out));
      REQUIRE(bm2.add_file(e.dir.path("base.safetensors"), r2));
    }
    std::string out = e.dir.path("restored.safetensors");
    REQUIRE(ops::restore_file(*m2, r2, out, e.pool, {}));
    CHECK(*read_whole_file(out, 1 << 24) == fine);
  }
}

TEST_CASE("ops: the manifest is a pure function of the file's bytes") {
  Env e;
  auto base = model(1);
  auto fine = model(7, true);
  test::write_file(e.dir.path("base.safetensors"), base);
  test::write_file(e.dir.path("fine.safetensors"), fine);
  auto s1 = *store::LocalStore::open(e.dir.path("s1"));
  auto s2 = *store::LocalStore::open(e.dir.path("s2"));
  store::Resolver r1, r2;
  r1.add_source(s1.get());
  r2.add_source(s2.get());
  ops::BaseModel bm;
  REQUIRE(bm.add_file(e.dir.path("base.safetensors"), r2));
  auto a =
      ops::ingest_file(e.dir.path("fine.safetensors"), nullptr, r1, *s1, e.pool, e.opts, nullptr);
  auto b = ops::ingest_file(e.dir.path("fine.safetensors"), &bm, r2, *s2, e.pool, e.opts, nullptr);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(format::serialize_manifest(*a) == format::serialize_manifest(*b));
}

TEST_CASE(
    "ops: the manifest's SHA-256 covers every byte; a file that changed while read is refused") {
  // Tensors over keep_limit are read twice (hashed in chunk-sized pieces,
  // then coded), the others once: both feed the digest, in file order.
  Env e;
  auto fine = model(7, true);
  test::write_file(e.dir.path("fine.safetensors"), fine);
  Sha256 sha;
  sha.update(fine);
  const auto want = sha.finish();
  for (uint64_t keep_limit : {uint64_t(1) << 30, uint64_t(1000)}) {
    CAPTURE(keep_limit);
    e.opts.keep_limit = keep_limit;
    auto store = *store::LocalStore::open(e.dir.path("store" + std::to_string(keep_limit)));
    store::Resolver r;
    r.add_source(store.get());
    e.opts.expect_content_id = object_id_of(fine);
    auto m = ops::ingest_file(e.dir.path("fine.safetensors"), nullptr, r, *store, e.pool, e.opts,
                              nullptr);
    REQUIRE(m);
    CHECK(m->sha256 == want);
    // What the caller was sent is not what the file holds.
    auto other = fine;
    other.back() ^= 1;
    e.opts.expect_content_id = object_id_of(other);
    auto bad = ops::ingest_file(e.dir.path("fine.safetensors"), nullptr, r, *store, e.pool, e.opts,
                                nullptr);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.find("changed while it was being added") != std::string::npos);
  }
  e.opts.expect_content_id.reset();
}

TEST_CASE("ops: a restore can date the file (checkout dates files when it began)") {
  Env e;
  auto fine = model(7, true);
  test::write_file(e.dir.path("fine.safetensors"), fine);
  auto store = *store::LocalStore::open(e.dir.path("store"));
  store::Resolver r;
  r.add_source(store.get());
  auto m =
      ops::ingest_file(e.dir.path("fine.safetensors"), nullptr, r, *store, e.pool, e.opts, nullptr);
  REQUIRE(m);
  ops::RestoreOptions opts;
  opts.mtime = timespec{1'000'000'000, 123'000'000};
  const std::string out = e.dir.path("dated.safetensors");
  REQUIRE(ops::restore_file(*m, r, out, e.pool, opts));
  CHECK(*read_whole_file(out, 1 << 24) == fine);
  struct stat st {};
  REQUIRE(::stat(out.c_str(), &st) == 0);
  CHECK(st.st_mtim.tv_sec == 1'000'000'000);
  CHECK(st.st_mtim.tv_nsec == 123'000'000);
}

TEST_CASE("ops: store chain base -> ft1 -> ft2 restores from the store alone") {
  Env e;
  auto s = *store::LocalStore::open(e.dir.path("store"));
  store::Resolver r;
  r.add_source(s.get());
  std::vector<std::vector<uint8_t>> files = {model(1), model(3, true), model(5, true)};
  std::vector<format::Manifest> ms;
  for (size_t i = 0; i < files.size(); ++i) {
    std::string p = e.dir.path("m" + std::to_string(i));
    test::write_file(p, files[i]);
    ops::BaseModel bm;
    if (i > 0) {
      REQUIRE(bm.add_manifest(ms.back(), "previous"));
    }
    ops::IngestReport rep;
    auto m = ops::ingest_file(p, i ? &bm : nullptr, r, *s, e.pool, e.opts, &rep);
    REQUIRE(m);
    if (i > 0) {
      CHECK(rep.tensors[0].delta);
    }
    ms.push_back(*m);
  }
  for (size_t i = 0; i < files.size(); ++i) {
    std::string out = e.dir.path("out" + std::to_string(i));
    REQUIRE(ops::restore_file(ms[i], r, out, e.pool, {}));
    CHECK(*read_whole_file(out, 1 << 24) == files[i]);
  }
}

TEST_CASE("ops: malformed input names the file; nothing is written") {
  Env e;
  auto s = *store::LocalStore::open(e.dir.path("store"));
  store::Resolver r;
  r.add_source(s.get());
  auto f = model(1);
  f.resize(f.size() - 10);  // truncated data section
  test::write_file(e.dir.path("bad.safetensors"), f);
  auto m = ops::ingest_file(e.dir.path("bad.safetensors"), nullptr, r, *s, e.pool, e.opts, nullptr);
  REQUIRE_FALSE(m);
  CHECK(m.error().message.find("bad.safetensors") != std::string::npos);
  CHECK(m.error().message.find("tensor '") != std::string::npos);
  size_t files = 0;
  for (auto& ent : std::filesystem::recursive_directory_iterator(e.dir.path("store"))) {
    files += ent.is_regular_file();
  }
  CHECK(files == 0);
}

TEST_CASE("ops: a corrupt object fails the restore with its id; an existing file survives") {
  Env e;
  auto s = *store::LocalStore::open(e.dir.path("store"), 0);  // loose, to corrupt one file
  store::Resolver r;
  r.add_source(s.get());
  auto f = model(1);
  test::write_file(e.dir.path("m.safetensors"), f);
  auto m = ops::ingest_file(e.dir.path("m.safetensors"), nullptr, r, *s, e.pool, e.opts, nullptr);
  REQUIRE(m);
  std::string obj = s->path_of(m->tensors[0].id);
  auto bytes = *read_whole_file(obj, 1 << 24);
  bytes[bytes.size() - 3] ^= 1;
  ::chmod(obj.c_str(), 0644);
  test::write_file(obj, bytes);
  std::string out = e.dir.path("existing");
  test::write_file(out, {1, 2, 3});
  Status st = ops::restore_file(*m, r, out, e.pool, {});
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Errc::Corrupt);
  CHECK(st.error().message.find(m->tensors[0].id.hex()) != std::string::npos);
  CHECK(*read_whole_file(out, 100) == std::vector<uint8_t>{1, 2, 3});
}

TEST_CASE("ops: an intact object holding other bytes fails the restore by SHA-256, naming it") {
  // The object file of another model's tensor under tensor 0's id: every
  // chunk checksum holds, only the file's SHA-256 (and the object id the
  // restore then checks to name the culprit) can tell.
  Env e;
  auto s = *store::LocalStore::open(e.dir.path("store"), 0);
  store::Resolver r;
  r.add_source(s.get());
  test::write_file(e.dir.path("a.safetensors"), model(1));
  test::write_file(e.dir.path("b.safetensors"), model(3, /*finetune_of_seed1=*/true));
  auto a = ops::ingest_file(e.dir.path("a.safetensors"), nullptr, r, *s, e.pool, e.opts, nullptr);
  auto b = ops::ingest_file(e.dir.path("b.safetensors"), nullptr, r, *s, e.pool, e.opts, nullptr);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(a->tensors[1].id != b->tensors[1].id);
  std::string obj = s->path_of(a->tensors[1].id);
  ::chmod(obj.c_str(), 0644);
  test::write_file(obj, *read_whole_file(s->path_of(b->tensors[1].id), 1 << 24));
  std::string out = e.dir.path("restored");
  Status st = ops::restore_file(*a, r, out, e.pool, {});
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Errc::Corrupt);
  CHECK(st.error().message.find(a->tensors[1].id.hex()) != std::string::npos);
  CHECK(st.error().message.find(a->tensors[1].info.name) != std::string::npos);
  CHECK_FALSE(read_whole_file(out, 100));  // nothing written
}

TEST_CASE("ops: a file that is not safetensors is stored as generic parts when allowed") {
  Env e;
  std::vector<uint8_t> text(50000);
  for (size_t i = 0; i < text.size(); ++i) {
    text[i] = static_cast<uint8_t>("hello world, "[i % 13]);
  }
  test::write_file(e.dir.path("notes.bin"), text);
  auto store = *store::LocalStore::open(e.dir.path("store"));
  store::Resolver resolver;
  resolver.add_source(store.get());
  // Refused unless allowed.
  CHECK_FALSE(ops::ingest_file(e.dir.path("notes.bin"), nullptr, resolver, *store, e.pool, e.opts,
                               nullptr));
  e.opts.allow_generic = true;
  e.opts.generic_part = 16384;  // several parts, the last one short
  auto m =
      ops::ingest_file(e.dir.path("notes.bin"), nullptr, resolver, *store, e.pool, e.opts, nullptr);
  REQUIRE(m);
  CHECK(m->generic);
  CHECK(m->data.size() == 4);
  REQUIRE(ops::restore_file(*m, resolver, e.dir.path("back.bin"), e.pool, ops::RestoreOptions{}));
  CHECK(*read_whole_file(e.dir.path("back.bin"), 1 << 20) == text);
  // A truncated safetensors file still looks like one: an error, not a generic file.
  auto st = model(1);
  st.resize(st.size() / 2);
  test::write_file(e.dir.path("half.safetensors"), st);
  CHECK_FALSE(ops::ingest_file(e.dir.path("half.safetensors"), nullptr, resolver, *store, e.pool,
                               e.opts, nullptr));
}

TEST_CASE("ops: a raw candidate (work tree file) replaces decoding the base only if it matches") {
  Env e;
  auto full = *store::LocalStore::open(e.dir.path("store"), 0);  // loose: objects can be removed
  store::Resolver r;
  r.add_source(full.get());
  auto base = model(1);
  auto fine = model(3, true);
  test::write_file(e.dir.path("base"), base);
  test::write_file(e.dir.path("fine"), fine);
  auto mb = ops::ingest_file(e.dir.path("base"), nullptr, r, *full, e.pool, e.opts, nullptr);
  REQUIRE(mb);
  ops::BaseModel bm;
  REQUIRE(bm.add_manifest(*mb, "base"));
  auto mf = ops::ingest_file(e.dir.path("fine"), &bm, r, *full, e.pool, e.opts, nullptr);
  REQUIRE(mf);
  // Remove the base's tensor objects the fine-tune is not made of: only the
  // candidate can supply them now.
  std::set<ObjectId> fine_ids;
  for (const auto& t : mf->tensors) {
    fine_ids.insert(t.id);
  }
  size_t removed = 0;
  for (const auto& t : mb->tensors) {
    if (!fine_ids.count(t.id) && ::unlink(full->path_of(t.id).c_str()) == 0) {
      ++removed;
    }
  }
  REQUIRE(removed > 0);
  auto offer = [&](store::Resolver& res, const std::string& file) {
    auto fd = std::make_shared<const Fd>(*open_read(file));
    for (const auto& t : mb->tensors) {
      res.add_raw_candidate(t.id, store::RawTensor{fd, 8 + mb->header_len + t.info.begin,
                                                   t.info.size(), t.info.dtype, file});
    }
  };
  {
    store::Resolver good;
    good.add_source(full.get());
    offer(good, e.dir.path("base"));
    REQUIRE(ops::restore_file(*mf, good, e.dir.path("out1"), e.pool, {}));
    CHECK(*read_whole_file(e.dir.path("out1"), 1 << 24) == fine);
  }
  {
    // A changed file is not trusted: the missing base objects are reported.
    auto changed = base;
    changed[changed.size() / 2] ^= 0x5a;
    test::write_file(e.dir.path("changed"), changed);
    store::Resolver bad;
    bad.add_source(full.get());
    offer(bad, e.dir.path("changed"));
    auto s = ops::restore_file(*mf, bad, e.dir.path("out2"), e.pool, {});
    CHECK_FALSE(s);
    CHECK_FALSE(path_exists(e.dir.path("out2")));
  }
}
