#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "codec/chunk.h"
#include "helpers.h"
#include "store/local_store.h"
#include "store/object_io.h"
#include "store/resolver.h"

using namespace zipllm;

namespace {

// Writes `raw` as a solo-coded object into the store, chunked small.
ObjectId put_object(store::LocalStore& s, const std::vector<uint8_t>& raw, uint32_t chunk_size,
                    format::Dtype dtype = format::Dtype::BF16) {
  format::ObjectHeader h;
  h.dtype = dtype;
  h.raw_size = raw.size();
  h.chunk_size = chunk_size;
  h.id = object_id_of(raw);
  auto w = store::ObjectWriter::begin(*s.create(h.id, h.raw_size), h);
  REQUIRE(w);
  for (uint64_t off = 0; off < raw.size(); off += chunk_size) {
    ByteView part(raw.data() + off, std::min<uint64_t>(chunk_size, raw.size() - off));
    std::vector<uint8_t> enc;
    codec::encode_chunk(part, {}, format::dtype_info(dtype), codec::EncodeOptions{}, enc);
    REQUIRE(w->append_chunk(enc, checksum64(part), false));
  }
  REQUIRE(w->finish());
  REQUIRE(s.finish());
  return h.id;
}

std::string golden_path() {
  return std::string(ZIPLLM_TEST_DATA) + "/golden/object_v1.bin";
}

}  // namespace

TEST_CASE("object: write, read back by ranges across chunks, verify") {
  test::ScratchDir dir;
  auto s = *store::LocalStore::open(dir.path("store"), 0);
  auto raw = test::bf16_weights(10000, 3);
  ObjectId id = put_object(*s, raw, 4096);
  CHECK(s->contains(id));
  store::Resolver r;
  r.add_source(s.get());
  std::vector<uint8_t> part(5000);
  REQUIRE(r.read_raw(id, 3000, part));
  CHECK(std::equal(part.begin(), part.end(), raw.begin() + 3000));
}

TEST_CASE("object: golden file v1 decodes to its id") {
  auto raw = test::bf16_weights(3000, 42);
  test::ScratchDir dir;
  auto s = *store::LocalStore::open(dir.path("store"), 0);
  ObjectId id = put_object(*s, raw, 2048);
  auto written = *read_whole_file(s->path_of(id), 1 << 20);
  if (std::getenv("ZIPLLM_UPDATE_GOLDEN")) {
    test::write_file(golden_path(), written);
  }
  auto golden = read_whole_file(golden_path(), 1 << 20);
  REQUIRE_MESSAGE(golden, "missing " << golden_path());
  CHECK(*golden == written);  // the encoder is deterministic and the format unchanged
  test::ScratchDir other;
  auto s2 = *store::LocalStore::open(other.path("store"), 0);
  std::filesystem::create_directories(std::filesystem::path(s2->path_of(id)).parent_path());
  test::write_file(s2->path_of(id), *golden);
  store::Resolver r;
  r.add_source(s2.get());
  std::vector<uint8_t> out(raw.size());
  REQUIRE(r.read_raw(id, 0, out));
  CHECK(out == raw);
}

TEST_CASE("object: every corrupted byte is detected as Corrupt, never decoded silently") {
  test::ScratchDir dir;
  auto s = *store::LocalStore::open(dir.path("store"), 0);
  auto raw = test::bf16_weights(3000, 42);
  ObjectId id = put_object(*s, raw, 2048);
  std::string path = s->path_of(id);
  auto good = *read_whole_file(path, 1 << 20);
  for (size_t pos = 0; pos < good.size(); pos += std::max<size_t>(1, good.size() / 97)) {
    auto bad = good;
    bad[pos] ^= 0x40;
    ::chmod(path.c_str(), 0644);
    test::write_file(path, bad);
    store::Resolver r;
    r.add_source(s.get());
    std::vector<uint8_t> out(raw.size());
    Status st = r.read_raw(id, 0, out);
    CAPTURE(pos);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Errc::Corrupt);
    CHECK(st.error().message.find(id.hex()) != std::string::npos);
  }
  // Truncated object.
  test::write_file(path, std::vector<uint8_t>(good.begin(), good.begin() + 50));
  store::Resolver r;
  r.add_source(s.get());
  std::vector<uint8_t> out(raw.size());
  CHECK_FALSE(r.read_raw(id, 0, out));
}

TEST_CASE("store: concurrent writers of the same object all succeed, one file results") {
  test::ScratchDir dir;
  auto raw = test::bf16_weights(50000, 8);
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    // One store handle per writer, as separate git processes have.
    ts.emplace_back([&] {
      auto s = *store::LocalStore::open(dir.path("store"), 0);
      put_object(*s, raw, 8192);
    });
  }
  auto s = *store::LocalStore::open(dir.path("store"), 0);
  for (auto& t : ts) {
    t.join();
  }
  ObjectId id = object_id_of(raw);
  CHECK(s->contains(id));
  size_t files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir.path("store"))) {
    files += e.is_regular_file();
  }
  CHECK(files == 1);  // no temp files left behind
}

TEST_CASE("store: a missing object is NotFound naming the id") {
  test::ScratchDir dir;
  auto s = *store::LocalStore::open(dir.path("store"), 0);
  store::Resolver r;
  r.add_source(s.get());
  ObjectId id = object_id_of(ByteView(reinterpret_cast<const uint8_t*>("x"), 1));
  std::vector<uint8_t> out(1);
  Status st = r.read_raw(id, 0, out);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Errc::NotFound);
  CHECK(st.error().message.find(id.hex()) != std::string::npos);
}

TEST_CASE("store: small objects are batched into one pack, visible after finish") {
  test::ScratchDir dir;
  auto s = *store::LocalStore::open(dir.path("store"));
  std::vector<ObjectId> ids;
  for (int i = 0; i < 20; ++i) {
    auto raw = test::bf16_weights(1000 + i, 100 + i);
    format::ObjectHeader h;
    h.raw_size = raw.size();
    h.chunk_size = 4096;
    h.id = object_id_of(raw);
    auto w = store::ObjectWriter::begin(*s->create(h.id, h.raw_size), h);
    REQUIRE(w);
    for (uint64_t off = 0; off < raw.size(); off += h.chunk_size) {
      ByteView part(raw.data() + off, std::min<uint64_t>(h.chunk_size, raw.size() - off));
      std::vector<uint8_t> enc;
      codec::encode_chunk(part, {}, format::dtype_info(h.dtype), codec::EncodeOptions{}, enc);
      REQUIRE(w->append_chunk(enc, checksum64(part), false));
    }
    REQUIRE(w->finish());
    ids.push_back(h.id);
    CHECK(s->contains(h.id));  // known to this writer before finish
  }
  // Another handle (another process) sees nothing until finish.
  auto other = *store::LocalStore::open(dir.path("store"));
  CHECK_FALSE(other->contains(ids[0]));
  REQUIRE(s->finish());
  CHECK(s->pack_count() == 1);
  store::Resolver r;
  r.add_source(other.get());
  for (int i = 0; i < 20; ++i) {
    auto raw = test::bf16_weights(1000 + i, 100 + i);
    std::vector<uint8_t> out(raw.size());
    REQUIRE(r.read_raw(ids[i], 0, out));
    CHECK(out == raw);
  }
  size_t loose = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir.path("store") + "/objects")) {
    loose += e.is_regular_file();
  }
  CHECK(loose == 0);
}

namespace {

// Writes `bytes` as the stored form of `id` (the store does not look inside
// on write or replace), in a pack when `raw_size` is small.
void put(store::LocalStore& s, const ObjectId& id, const std::vector<uint8_t>& bytes,
         uint64_t raw_size) {
  auto out = s.create(id, raw_size);
  REQUIRE(out);
  REQUIRE((*out)->append(bytes));
  REQUIRE((*out)->commit());
}

std::vector<uint8_t> stored_bytes(const store::LocalStore& s, const ObjectId& id) {
  auto loc = s.locate(id);
  REQUIRE(loc);
  REQUIRE(*loc);
  std::vector<uint8_t> out((*loc)->length);
  REQUIRE(read_exact_at((*loc)->fd->get(), (*loc)->offset, out, (*loc)->where));
  return out;
}

}  // namespace

TEST_CASE("store: replace_encodings swaps loose and packed objects; the rest of a pack stays") {
  test::ScratchDir dir;
  auto s = *store::LocalStore::open(dir.path("store"));
  std::vector<ObjectId> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(object_id_of(test::random_bytes(64, 500 + i)));
    put(*s, ids.back(), test::random_bytes(100 + i, 600 + i), 100);  // packed
  }
  ObjectId big = object_id_of(test::random_bytes(64, 700));
  put(*s, big, test::random_bytes(300, 701), 1u << 20);  // loose
  REQUIRE(s->finish());
  REQUIRE(s->pack_count() == 1);
  std::string old_pack;
  for (const auto& e : list_dir(dir.path("store") + "/packs")) {
    old_pack = e;
  }
  auto kept = stored_bytes(*s, ids[1]);
  auto new_packed = test::random_bytes(50, 800), new_loose = test::random_bytes(30, 801);
  test::write_file(dir.path("a"), new_packed);
  test::write_file(dir.path("b"), new_loose);
  REQUIRE(s->replace_encodings({{ids[0], dir.path("a")}, {big, dir.path("b")}}));
  CHECK(stored_bytes(*s, ids[0]) == new_packed);
  CHECK(stored_bytes(*s, big) == new_loose);
  CHECK(stored_bytes(*s, ids[1]) == kept);
  CHECK_FALSE(path_exists(old_pack));
  // Another handle that still knew the old pack finds the new one.
  CHECK(s->pack_count() == 1);
  auto other = *store::LocalStore::open(dir.path("store"));
  CHECK(stored_bytes(*other, ids[3]).size() == 103);
}

TEST_CASE("store: prune deletes a pack whose needed objects all have another copy, keeping one") {
  test::ScratchDir dir;
  auto s = *store::LocalStore::open(dir.path("store"));
  ObjectId a = object_id_of(test::random_bytes(64, 900)),
           b = object_id_of(test::random_bytes(64, 901));
  put(*s, a, test::random_bytes(100, 902), 100);
  put(*s, b, test::random_bytes(100, 903), 100);
  REQUIRE(s->finish());
  put(*s, a, test::random_bytes(100, 902), 100);  // the copies a killed repack leaves
  put(*s, b, test::random_bytes(100, 903), 100);
  REQUIRE(s->finish());
  REQUIRE(s->pack_count() == 2);
  auto later = std::chrono::system_clock::now() + std::chrono::hours(1);
  auto dry = s->prune([](const ObjectId&) { return true; }, later, true);
  REQUIRE(dry);
  CHECK(dry->packs == 1);
  auto st = s->prune([](const ObjectId&) { return true; }, later, false);
  REQUIRE(st);
  CHECK(st->packs == 1);
  auto other = *store::LocalStore::open(dir.path("store"));
  CHECK(other->pack_count() == 1);
  CHECK(stored_bytes(*other, a).size() == 100);
  CHECK(stored_bytes(*other, b).size() == 100);
}
