// Issue 10, item 16: object ids are XXH3-128, which is not collision
// resistant. An object that arrives from another store (fetch, a push into
// this one) is "foreign": ingest compares its bytes with the raw bytes
// before deduplicating against it, so a forged object (another tensor's
// bytes under this id) is set aside, never referenced by a new manifest.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>

#include "helpers.h"
#include "ops/ingest.h"
#include "ops/restore.h"
#include "remote/dir_remote.h"
#include "remote/transfer.h"
#include "store/local_store.h"

using namespace zipllm;
using test::FakeTensor;

namespace {

// A model with one loose-sized tensor "t".
std::vector<uint8_t> one_tensor(uint64_t seed) {
  return test::make_safetensors(
      {FakeTensor{"t", "BF16", {200000}, test::bf16_weights(200000, seed)}});
}

ObjectId id_of_t(const std::vector<uint8_t>& file) {
  // The tensor's bytes are the last 400000 of the file.
  return object_id_of(ByteView(file.data() + file.size() - 400000, 400000));
}

unsigned mode_of(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

struct Stores {
  test::ScratchDir dir;
  ThreadPool pool{2};
  std::unique_ptr<store::LocalStore> local;
  std::unique_ptr<remote::DirRemote> remote;
  Stores() {
    local = std::move(*store::LocalStore::open(dir.path("local")));
    REQUIRE(std::filesystem::create_directories(dir.path("remote")));
    remote = std::move(*remote::DirRemote::open(dir.path("remote"), dir.path("remote")));
  }
  // Ingests `bytes` (written to NAME) into `sink`, no base.
  format::Manifest ingest(const std::string& name, const std::vector<uint8_t>& bytes,
                          store::ObjectSink& sink, ops::IngestReport* report = nullptr) {
    test::write_file(dir.path(name), bytes);
    store::Resolver r;
    r.add_source(local.get());
    auto m = ops::ingest_file(dir.path(name), nullptr, r, sink, pool, ops::IngestOptions{}, report);
    REQUIRE(m);
    return *m;
  }
};

}  // namespace

TEST_CASE("foreign objects: a forged object is not deduplicated against") {
  Stores s;
  auto real = one_tensor(1);
  auto other = one_tensor(2);
  ObjectId real_id = id_of_t(real);
  // The attacker's store: the other tensor's object, relabelled with the
  // real tensor's id (header checksum recomputed, so it looks intact).
  auto theirs = store::LocalStore::open(s.dir.path("attacker"), 0);
  REQUIRE(theirs);
  s.ingest("other.safetensors", other, **theirs);
  auto bytes = read_whole_file((*theirs)->path_of(id_of_t(other)), 1 << 24);
  REQUIRE(bytes);
  auto h = format::parse_object_prefix(ByteView(bytes->data(), format::k_object_header_size));
  REQUIRE(h);
  REQUIRE(format::parse_object_table(
      *h, ByteView(bytes->data(), format::k_object_header_size),
      ByteView(bytes->data() + format::k_object_header_size, h->table_size())));
  h->id = real_id;
  auto head = format::serialize_object_header(*h);
  std::copy(head.begin(), head.end(), bytes->begin());
  std::string key = remote::RemoteStore::object_key(real_id);
  std::filesystem::create_directories(
      std::filesystem::path(s.dir.path("remote/" + key)).parent_path());
  test::write_file(s.dir.path("remote/" + key), *bytes);

  // The victim fetches it (it passes every checksum) ...
  REQUIRE(
      remote::download_object(*s.remote, *s.local, real_id, remote::default_transfer_options("")));
  CHECK(mode_of(s.local->path_of(real_id)) == store::LocalStore::k_foreign_mode);
  // ... then adds a file holding the real tensor: the forgery is set aside
  // and the real bytes written.
  ops::IngestReport report;
  auto m = s.ingest("real.safetensors", real, *s.local, &report);
  REQUIRE(report.tensors.size() == 1);
  CHECK_FALSE(report.tensors[0].reused);
  CHECK(mode_of(s.local->path_of(real_id)) == store::LocalStore::k_own_mode);
  CHECK_FALSE(std::filesystem::is_empty(s.dir.path("local/corrupt")));
  store::Resolver r;
  r.add_source(s.local.get());
  REQUIRE(ops::restore_file(m, r, s.dir.path("out.safetensors"), s.pool, ops::RestoreOptions{}));
  auto out = read_whole_file(s.dir.path("out.safetensors"), 1 << 24);
  REQUIRE(out);
  CHECK(*out == real);
}

TEST_CASE("foreign objects: an honest one is compared once, then trusted") {
  Stores s;
  auto model = one_tensor(3);
  ObjectId id = id_of_t(model);
  s.ingest("m.safetensors", model, s.remote->store());
  CHECK(mode_of(s.remote->store().path_of(id)) == store::LocalStore::k_own_mode);
  REQUIRE(remote::download_object(*s.remote, *s.local, id, remote::default_transfer_options("")));
  CHECK(mode_of(s.local->path_of(id)) == store::LocalStore::k_foreign_mode);
  ops::IngestReport report;
  s.ingest("again.safetensors", model, *s.local, &report);
  REQUIRE(report.tensors.size() == 1);
  CHECK(report.tensors[0].reused);
  CHECK(mode_of(s.local->path_of(id)) == store::LocalStore::k_own_mode);
  CHECK_FALSE(std::filesystem::exists(s.dir.path("local/corrupt")));
}
