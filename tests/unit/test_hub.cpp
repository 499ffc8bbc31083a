#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "format/object.h"
#include "helpers.h"
#include "hub/auth.h"
#include "hub/service.h"
#include "ops/base_model.h"
#include "ops/ingest.h"
#include "store/closure.h"
#include "util/file.h"
#include "util/hash.h"

using namespace zipllm;
using nlohmann::json;

namespace {

std::string sha_hex(const std::vector<uint8_t>& b) {
  Sha256 s;
  s.update(b);
  return Sha256::hex(s.finish());
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size())
      v |= uint32_t(uint8_t(in[i + 1])) << 8;
    if (i + 2 < in.size())
      v |= uint8_t(in[i + 2]);
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += i + 1 < in.size() ? t[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? t[v & 63] : '=';
  }
  return out;
}

hub::HttpRequest post(const std::string& path, const json& body, const std::string& auth = "") {
  hub::HttpRequest r;
  r.method = "POST";
  r.path = path;
  r.headers["host"] = "hub.example:8080";
  if (!auth.empty()) {
    r.headers["authorization"] = auth;
  }
  r.body = body.dump();
  return r;
}

json batch_body(const std::string& op, const std::string& oid, uint64_t size) {
  return {
      {"operation", op}, {"objects", {{{"oid", oid}, {"size", size}}}}, {"ref", json::object()}};
}

hub::HttpResponse put(hub::Hub& h, const std::string& path, const std::string& auth,
                      const std::vector<uint8_t>& body) {
  hub::HttpRequest r;
  r.method = "PUT";
  r.path = path;
  r.headers["authorization"] = auth;
  return h.upload(r, [&](const hub::Hub::Receiver& receive) {
    // In two pieces, as a socket would deliver it.
    size_t half = body.size() / 2;
    return receive(reinterpret_cast<const char*>(body.data()), half) &&
           receive(reinterpret_cast<const char*>(body.data()) + half, body.size() - half);
  });
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  auto b = read_whole_file(path, 1u << 30);
  REQUIRE(b);
  return std::move(*b);
}

std::string path_of(const std::string& href) {
  return href.substr(href.find('/', 7));
}

// A hub on a scratch store (anyone may push), and a client's store whose
// objects are all loose files (the bytes a zipllm client sends).
struct HubAndClient {
  test::ScratchDir dir;
  hub::HubOptions opts;
  std::unique_ptr<hub::Hub> hub;
  std::unique_ptr<store::LocalStore> client;
  store::Resolver resolver;
  ThreadPool pool{2};
  HubAndClient() {
    opts.store = dir.path("store");
    opts.anonymous_push = true;
    opts.ingest_threads = 2;
    auto h = hub::Hub::open(opts);
    REQUIRE(h);
    hub = std::move(*h);
    auto c = store::LocalStore::open(dir.path("client"), 0);
    REQUIRE(c);
    client = std::move(*c);
    resolver.add_source(client.get());
  }
  // Writes `bytes` to NAME and ingests it into the client's store.
  format::Manifest ingest(const std::string& name, const std::vector<uint8_t>& bytes,
                          const ops::BaseModel* base = nullptr) {
    test::write_file(dir.path(name), bytes);
    auto m = ops::ingest_file(dir.path(name), base, resolver, *client, pool, {}, nullptr);
    REQUIRE(m);
    REQUIRE(client->finish());
    return *m;
  }
  std::vector<uint8_t> object_bytes(const ObjectId& id) { return file_bytes(client->path_of(id)); }
};

}  // namespace

TEST_CASE("hub: the token file, its errors, rights by repository pattern") {
  test::ScratchDir dir;
  std::string f = dir.path("tokens");
  test::write_file(f, {});
  std::string text = "# tokens\nw1 write org/*\nr1 read org/model other/x  # two\n\n";
  test::write_file(f, std::vector<uint8_t>(text.begin(), text.end()));
  auto g = hub::Grants::load(f);
  REQUIRE(g);
  auto basic = [](const std::string& token) { return "Basic " + base64("user:" + token); };
  CHECK(g->right(g->identify(basic("w1")), "org/model") == hub::Right::Write);
  CHECK(g->right(g->identify("Bearer w1"), "org/other") == hub::Right::Write);
  CHECK(g->right(g->identify(basic("w1")), "orgx/model") == hub::Right::None);
  CHECK(g->right(g->identify(basic("r1")), "org/model") == hub::Right::Read);
  CHECK(g->right(g->identify(basic("r1")), "other/x") == hub::Right::Read);
  CHECK(g->right(g->identify(basic("r1")), "org/else") == hub::Right::None);
  auto nobody = g->identify("");
  CHECK_FALSE(nobody.presented);
  CHECK(g->right(nobody, "org/model") == hub::Right::None);
  auto stranger = g->identify(basic("w2"));
  CHECK(stranger.presented);
  CHECK_FALSE(stranger.known);

  for (std::string bad :
       {"t1 admin org/x\n", "t1 read\n", "t1 read ../etc\n", "t1 read org/*/*\n"}) {
    test::write_file(f, std::vector<uint8_t>(bad.begin(), bad.end()));
    auto e = hub::Grants::load(f);
    REQUIRE_FALSE(e);
    CHECK(e.error().message.find(f + ":1:") != std::string::npos);
  }
  auto open = hub::Grants::open_hub(false);
  CHECK(open.right(open.identify(""), "a/b") == hub::Right::Read);
  CHECK(hub::Grants::open_hub(true).right({}, "a/b") == hub::Right::Write);
  CHECK_FALSE(hub::valid_repo("a"));
  CHECK_FALSE(hub::valid_repo("a/b/c"));
  CHECK_FALSE(hub::valid_repo("a/.git"));
  CHECK(hub::valid_repo("Org-1/model_2.v3"));
}

TEST_CASE("hub: action tokens allow one operation on one object until they expire") {
  hub::ActionToken t{"upload", "org/m", std::string(64, 'a'), 42, 1000};
  std::string tok = "Bearer " + hub::sign_action(t, "secret-1");
  auto ok = hub::check_action(tok, "secret-1", 999);
  REQUIRE(ok);
  CHECK(ok->repo == "org/m");
  CHECK(ok->size == 42);
  CHECK_FALSE(hub::check_action(tok, "secret-2", 999));   // another hub's
  CHECK_FALSE(hub::check_action(tok, "secret-1", 1001));  // expired
  std::string forged = tok;
  forged.replace(forged.find(":42:"), 4, ":43:");
  CHECK_FALSE(hub::check_action(forged, "secret-1", 999));
  CHECK_FALSE(hub::check_action("Bearer zl1:x", "secret-1", 0));
}

TEST_CASE("hub: upload, dedup without telling, download, verify; wrong bytes stored nowhere") {
  test::ScratchDir dir;
  hub::HubOptions o;
  o.store = dir.path("store");
  o.anonymous_push = true;
  o.ingest_threads = 2;
  auto h = hub::Hub::open(o);
  REQUIRE(h);
  auto base_w = test::bf16_weights(40000, 1);
  auto base = test::make_safetensors({{"w", "BF16", {40000}, base_w}});
  auto ft = test::make_safetensors({{"w", "BF16", {40000}, test::bf16_finetune(base_w, 2, 0.01f)}});
  const std::string api = "/org/m.git/info/lfs/";

  auto up = [&](const std::vector<uint8_t>& file, const std::string& repo_api) {
    auto b = (*h)->handle(
        post(repo_api + "objects/batch", batch_body("upload", sha_hex(file), file.size())));
    REQUIRE(b.status == 200);
    return json::parse(b.body);
  };
  json b = up(base, api);
  CHECK(b["transfer"] == "basic");
  auto action = b["objects"][0]["actions"]["upload"];
  CHECK(action["href"].get<std::string>().rfind(
            "http://hub.example:8080/org/m.git/info/lfs/objects/", 0) == 0);
  std::string auth = action["header"]["Authorization"];

  // Bytes that do not hash to the oid: 422, nothing published.
  auto wrong = base;
  wrong[wrong.size() - 1] ^= 1;
  auto r = put(**h, path_of(action["href"]), auth, wrong);
  CHECK(r.status == 422);
  CHECK(json::parse((*h)->stats_json())["objects"] == 0);

  CHECK(put(**h, path_of(action["href"]), auth, base).status == 200);
  b = up(base, api);
  CHECK_FALSE(b["objects"][0].contains("actions"));  // this repo has it
  // Another repository holding nothing: "upload needed", never "present".
  json other = up(base, "/org/n.git/info/lfs/");
  CHECK(other["objects"][0].contains("actions"));

  // The fine-tune is delta-coded against the base the hub found by content.
  json fb = up(ft, api);
  CHECK(put(**h, path_of(fb["objects"][0]["actions"]["upload"]["href"]),
            fb["objects"][0]["actions"]["upload"]["header"]["Authorization"], ft)
            .status == 200);
  (*h)->wait_idle();  // stored in the background
  json st = json::parse((*h)->stats_json());
  CHECK(st["objects"] == 2);
  CHECK(st["pending"] == 0);
  CHECK(st["stored_bytes"].get<uint64_t>() < base.size() + ft.size() * 6 / 10);

  // Download: the bytes as uploaded.
  auto d =
      (*h)->handle(post(api + "objects/batch", batch_body("download", sha_hex(ft), ft.size())));
  json dj = json::parse(d.body);
  auto dl = dj["objects"][0]["actions"]["download"];
  hub::HttpRequest get;
  get.method = "GET";
  get.path = path_of(dl["href"]);
  get.headers["authorization"] = dl["header"]["Authorization"];
  auto got = (*h)->handle(get);
  REQUIRE(got.status == 200);
  REQUIRE(got.file);
  std::vector<uint8_t> bytes(got.file->size());
  // Read as the HTTP layer does: in pieces, each waiting for its bytes.
  for (size_t at = 0; at < bytes.size();) {
    size_t n = got.file->read(at, bytes.data() + at, std::min<size_t>(5000, bytes.size() - at));
    REQUIRE(n > 0);
    at += n;
  }
  CHECK(bytes == ft);
  // A later piece first (a resumed download): it waits for its bytes.
  auto again = (*h)->handle(get);
  std::vector<uint8_t> tail(1000);
  REQUIRE(again.file->read(ft.size() - 1000, tail.data(), 1000) == 1000);
  CHECK(std::equal(tail.begin(), tail.end(), ft.end() - 1000));
  // The download token reads that object only, and cannot upload.
  get.path = api + "objects/" + sha_hex(base);
  CHECK((*h)->handle(get).status == 403);
  CHECK(put(**h, api + "objects/" + sha_hex(ft), dl["header"]["Authorization"], ft).status == 403);

  // A read-only open hub: pushes are refused without a credential prompt.
  hub::HubOptions ro = o;
  ro.anonymous_push = false;
  auto readonly = hub::Hub::open(ro);
  REQUIRE(readonly);
  auto refused = (*readonly)->handle(
      post(api + "objects/batch", batch_body("upload", sha_hex(ft), ft.size())));
  CHECK(refused.status == 403);
  CHECK(refused.body.find("takes no pushes") != std::string::npos);
  auto allowed = (*readonly)->handle(
      post(api + "objects/batch", batch_body("download", sha_hex(ft), ft.size())));
  CHECK(allowed.status == 200);

  auto v = (*h)->handle(post(api + "verify", {{"oid", sha_hex(ft)}, {"size", ft.size()}}));
  CHECK(v.status == 200);
  v = (*h)->handle(post(api + "verify", {{"oid", sha_hex(ft)}, {"size", ft.size() + 1}}));
  CHECK(v.status == 422);
  v = (*h)->handle(post("/org/n.git/info/lfs/verify", {{"oid", sha_hex(ft)}, {"size", ft.size()}}));
  CHECK(v.status == 404);
}

TEST_CASE(
    "hub: the zipllm adapter moves only missing objects and stores a file only if they rebuild "
    "it") {
  HubAndClient t;
  auto& h = t.hub;
  // A client's store: the base and a fine-tune coded against it.
  auto base_w = test::bf16_weights(300000, 3);
  auto base = test::make_safetensors(
      {{"w", "BF16", {300000}, base_w}, {"b", "BF16", {1000}, test::bf16_weights(1000, 4)}});
  auto ft = test::make_safetensors({{"w", "BF16", {300000}, test::bf16_finetune(base_w, 5, 0.01f)},
                                    {"b", "BF16", {1000}, test::bf16_weights(1000, 4)}});
  auto mb = t.ingest("base.safetensors", base);
  ops::BaseModel bm;
  REQUIRE(bm.add_manifest(mb, "base"));
  auto mf = t.ingest("ft.safetensors", ft, &bm);
  const std::string api = "/org/m.git/info/lfs/";
  // The adapter is answered only when offered.
  auto batch_of = [&](const std::string& op, const std::vector<uint8_t>& file,
                      const std::string& repo_api = "/org/m.git/info/lfs/") {
    json body = batch_body(op, sha_hex(file), file.size());
    body["transfers"] = {"basic", "zipllm"};
    auto b = h->handle(post(repo_api + "objects/batch", body));
    REQUIRE(b.status == 200);
    json j = json::parse(b.body);
    CHECK(j["transfer"] == "zipllm");
    return j["objects"][0];
  };
  // Sends a file's objects (those the hub asks for) and its manifest.
  auto send = [&](const format::Manifest& m, const json& item, int* sent) {
    auto a = item["actions"]["upload"];
    std::string href = path_of(a["href"]);
    std::string auth = a["header"]["Authorization"];
    auto ids = store::object_closure(*t.client, format::object_ids(m));
    REQUIRE(ids);
    json q = {{"objects", json::array()}};
    for (const auto& id : *ids) {
      q["objects"].push_back(id.hex());
    }
    auto miss = h->handle(post(href + "/missing", q, auth));
    REQUIRE(miss.status == 200);
    json missing = json::parse(miss.body)["missing"];
    for (const auto& id : missing) {
      auto bytes = file_bytes(t.client->path_of(*ObjectId::from_hex(id.get<std::string>())));
      CHECK(put(*h, href + "/objects/" + id.get<std::string>(), auth, bytes).status == 200);
      ++*sent;
    }
    hub::HttpRequest c = post(href + "/commit", json(), auth);
    c.body = format::serialize_manifest(m);
    return h->handle(c);
  };
  int sent = 0;
  json item = batch_of("upload", base);
  CHECK(item["actions"]["upload"]["href"].get<std::string>().find("/info/lfs/zipllm/") !=
        std::string::npos);
  CHECK(send(mb, item, &sent).status == 200);
  CHECK(sent == 3);  // the header and two tensors
  // The fine-tune: its base's objects are there; only its own are sent.
  sent = 0;
  CHECK(send(mf, batch_of("upload", ft), &sent).status == 200);
  auto ft_ids = store::object_closure(*t.client, format::object_ids(mf));
  REQUIRE(ft_ids);
  CHECK(sent == 1);  // the delta-coded w (the header and "b" are the base's)
  CHECK(ft_ids->size() == 4);

  // A push cut short: objects sent under one batch count for the next
  // (a retry sends only the rest), but not for another repository.
  {
    auto ft2_w = test::bf16_finetune(base_w, 6, 0.02f);
    auto ft2 = test::make_safetensors(
        {{"w", "BF16", {300000}, ft2_w}, {"b", "BF16", {1000}, test::bf16_weights(1000, 4)}});
    auto m2 = t.ingest("ft2.safetensors", ft2, &bm);
    auto ids2 = store::object_closure(*t.client, format::object_ids(m2));
    REQUIRE(ids2);
    json q = {{"objects", json::array()}};
    for (const auto& id : *ids2) {
      q["objects"].push_back(id.hex());
    }
    auto first = batch_of("upload", ft2)["actions"]["upload"];
    auto miss = json::parse(
        h->handle(post(path_of(first["href"]) + "/missing", q, first["header"]["Authorization"]))
            .body)["missing"];
    REQUIRE(miss.size() == 1);  // its own w
    std::string id = miss[0];
    CHECK(put(*h, path_of(first["href"]) + "/objects/" + id, first["header"]["Authorization"],
              file_bytes(t.client->path_of(*ObjectId::from_hex(id))))
              .status == 200);
    // ... the push dies here; the retry is a new batch with other tokens
    // (here from a second instance on the same store).
    hub::HubOptions o2 = t.opts;
    o2.token_ttl = 1000;
    auto h2 = hub::Hub::open(o2);
    REQUIRE(h2);
    json rb = batch_body("upload", sha_hex(ft2), ft2.size());
    rb["transfers"] = {"zipllm"};
    auto retry = json::parse(
        (*h2)->handle(post(api + "objects/batch", rb)).body)["objects"][0]["actions"]["upload"];
    CHECK(retry["header"]["Authorization"] != first["header"]["Authorization"]);
    miss = json::parse(
        h->handle(post(path_of(retry["href"]) + "/missing", q, retry["header"]["Authorization"]))
            .body)["missing"];
    CHECK(miss.empty());
    auto elsewhere = batch_of("upload", ft2, "/org/x.git/info/lfs/")["actions"]["upload"];
    miss = json::parse(h->handle(post(path_of(elsewhere["href"]) + "/missing", q,
                                      elsewhere["header"]["Authorization"]))
                           .body)["missing"];
    CHECK(miss.size() == ids2->size());
    hub::HttpRequest c2 =
        post(path_of(retry["href"]) + "/commit", json(), retry["header"]["Authorization"]);
    c2.body = format::serialize_manifest(m2);
    CHECK(h->handle(c2).status == 200);
  }

  // Another repository learns nothing of what org/m holds: everything is
  // "missing" there, and a manifest naming objects it did not send is refused.
  sent = 0;
  json other = batch_of("upload", ft, "/org/n.git/info/lfs/");
  auto oa = other["actions"]["upload"];
  hub::HttpRequest c = post(path_of(oa["href"]) + "/commit", json(), oa["header"]["Authorization"]);
  c.body = format::serialize_manifest(mf);
  auto refused = h->handle(c);
  CHECK(refused.status == 422);
  CHECK(refused.body.find("was not sent") != std::string::npos);
  CHECK(send(mf, other, &sent).status == 200);
  CHECK(sent == 4);

  // Download: the manifest, then only objects of that file.
  json d = batch_of("download", ft);
  auto da = d["actions"]["download"];
  hub::HttpRequest get;
  get.method = "GET";
  get.path = path_of(da["href"]) + "/manifest";
  get.headers["authorization"] = da["header"]["Authorization"];
  auto man = h->handle(get);
  REQUIRE(man.status == 200);
  CHECK(man.body == format::serialize_manifest(mf));
  for (const auto& id : *ft_ids) {
    get.path = path_of(da["href"]) + "/objects/" + id.hex();
    auto obj = h->handle(get);
    REQUIRE(obj.status == 200);
    REQUIRE(obj.file);
    std::vector<uint8_t> bytes(obj.file->size());
    REQUIRE(obj.file->read(0, bytes.data(), bytes.size()) == bytes.size());
    CHECK(bytes == file_bytes(t.client->path_of(id)));
  }
  get.path = path_of(da["href"]) + "/objects/" + std::string(32, '0');
  CHECK(h->handle(get).status == 404);
  get.path = path_of(da["href"]);  // the whole file
  auto whole = h->handle(get);
  REQUIRE(whole.file);
  std::vector<uint8_t> bytes(whole.file->size());
  for (size_t at = 0; at < bytes.size();) {
    size_t n = whole.file->read(at, bytes.data() + at, bytes.size() - at);
    REQUIRE(n > 0);
    at += n;
  }
  CHECK(bytes == ft);
}

TEST_CASE("hub: a forged manifest or forged objects through the zipllm adapter are refused") {
  HubAndClient t;
  auto& h = t.hub;
  auto real = test::make_safetensors({{"w", "BF16", {50000}, test::bf16_weights(50000, 7)}});
  auto other = test::make_safetensors({{"w", "BF16", {50000}, test::bf16_weights(50000, 8)}});
  auto mo = t.ingest("other.safetensors", other);
  // Claims `real`'s oid and size for `other`'s objects.
  json body = batch_body("upload", sha_hex(real), real.size());
  body["transfers"] = {"zipllm"};
  auto b =
      json::parse(h->handle(post("/org/m.git/info/lfs/objects/batch", body)).body)["objects"][0];
  std::string href = path_of(b["actions"]["upload"]["href"]);
  std::string auth = b["actions"]["upload"]["header"]["Authorization"];
  for (const auto& id : format::object_ids(mo)) {
    CHECK(put(*h, href + "/objects/" + id.hex(), auth, file_bytes(t.client->path_of(id))).status ==
          200);
  }
  format::Manifest forged = mo;
  forged.sha256 = *Sha256::from_hex(sha_hex(real));
  forged.size = real.size();
  hub::HttpRequest c = post(href + "/commit", json(), auth);
  c.body = format::serialize_manifest(forged);
  auto r = h->handle(c);
  CHECK(r.status == 422);
  CHECK(r.body.find("do not make up") != std::string::npos);
  // A manifest of another oid than the token's.
  c.body = format::serialize_manifest(mo);
  CHECK(h->handle(c).status == 422);
  // An object whose bytes are not what its name says.
  auto ids = format::object_ids(mo);
  auto bytes = file_bytes(t.client->path_of(ids[0]));
  bytes[bytes.size() / 2] ^= 0x40;
  CHECK(put(*h, href + "/objects/" + ids[0].hex(), auth, bytes).status == 422);
  // Nothing of it is stored or linked.
  json st = json::parse(h->stats_json());
  CHECK(st["objects"] == 0);
  CHECK(st["stored_bytes"] == 0);
  std::string oid = sha_hex(real);
  CHECK_FALSE(
      path_exists(t.opts.store + "/lfs/" + oid.substr(0, 2) + "/" + oid.substr(2, 2) + "/" + oid));
}

TEST_CASE(
    "hub: an upload that would rebuild wrong from a colliding stored object stays as uploaded") {
  // Ids are XXH3-128: someone can store other bytes under the id of a
  // tensor another user will upload. Made here by relabelling an object.
  HubAndClient t;  // the client is the one who forges
  auto& h = t.hub;
  auto real_w = test::bf16_weights(200000, 11);
  auto real = test::make_safetensors({{"t", "BF16", {200000}, real_w}});
  auto other = test::make_safetensors({{"t", "BF16", {200000}, test::bf16_weights(200000, 12)}});
  ObjectId real_id = object_id_of(ByteView(real_w.data(), real_w.size()));
  auto mo = t.ingest("other.safetensors", other);
  auto bytes = t.object_bytes(mo.tensors[0].id);
  auto head = format::parse_object_prefix(ByteView(bytes.data(), format::k_object_header_size));
  REQUIRE(head);
  REQUIRE(format::parse_object_table(
      *head, ByteView(bytes.data(), format::k_object_header_size),
      ByteView(bytes.data() + format::k_object_header_size, head->table_size())));
  head->id = real_id;
  auto header = format::serialize_object_header(*head);
  std::copy(header.begin(), header.end(), bytes.begin());
  auto hub_store = store::LocalStore::open(t.opts.store);
  REQUIRE(hub_store);
  std::string forged = (*hub_store)->path_of(real_id);
  std::filesystem::create_directories(std::filesystem::path(forged).parent_path());
  test::write_file(forged, bytes);
  REQUIRE(::chmod(forged.c_str(), 0444) == 0);  // as if the hub had written it

  // The victim's upload: accepted, but not stored against the forgery.
  auto b = json::parse(h->handle(post("/org/v.git/info/lfs/objects/batch",
                                      batch_body("upload", sha_hex(real), real.size())))
                           .body)["objects"][0]["actions"]["upload"];
  CHECK(put(*h, path_of(b["href"]), b["header"]["Authorization"], real).status == 200);
  h->wait_idle();
  json st = json::parse(h->stats_json());
  CHECK(st["pending"] == 1);
  std::string oid = sha_hex(real);
  CHECK_FALSE(
      path_exists(t.opts.store + "/lfs/" + oid.substr(0, 2) + "/" + oid.substr(2, 2) + "/" + oid));
  // Downloads give the bytes as uploaded.
  auto d = json::parse(
      h->handle(post("/org/v.git/info/lfs/objects/batch", batch_body("download", oid, real.size())))
          .body)["objects"][0]["actions"]["download"];
  hub::HttpRequest get;
  get.method = "GET";
  get.path = path_of(d["href"]);
  get.headers["authorization"] = d["header"]["Authorization"];
  auto got = h->handle(get);
  REQUIRE(got.file);
  std::vector<uint8_t> out(got.file->size());
  REQUIRE(got.file->read(0, out.data(), out.size()) == out.size());
  CHECK(out == real);
}

// An upload past --max-uploads waits for a slot instead of a 429 sent
// before its body (which makes git-lfs 3.3 panic on a push's first upload);
// 429 only past the waiting room; 503 for a waiter when the hub stops.
TEST_CASE("hub: uploads past the bound wait for a slot; 429 only past the waiting room") {
  test::ScratchDir dir;
  hub::HubOptions o;
  o.store = dir.path("store");
  o.anonymous_push = true;
  o.ingest_threads = 1;
  o.max_uploads = 1;
  o.upload_waiters = 1;
  auto h = hub::Hub::open(o);
  REQUIRE(h);
  const std::string api = "/org/m.git/info/lfs/";
  struct Upload {
    std::vector<uint8_t> bytes;
    std::string path, auth;
  };
  auto prepare = [&](uint64_t seed) {
    Upload u;
    u.bytes = test::make_safetensors({{"w", "BF16", {5000}, test::bf16_weights(5000, seed)}});
    auto b = (*h)->handle(
        post(api + "objects/batch", batch_body("upload", sha_hex(u.bytes), u.bytes.size())));
    REQUIRE(b.status == 200);
    auto action = json::parse(b.body)["objects"][0]["actions"]["upload"];
    u.path = path_of(action["href"]);
    u.auth = action["header"]["Authorization"];
    return u;
  };
  Upload a = prepare(1), b = prepare(2), c = prepare(3);

  // A holds the only slot, its body arriving slowly.
  std::mutex m;
  std::condition_variable cv;
  bool a_reading = false, a_go = false;
  int a_status = 0, b_status = 0;
  std::thread ta([&] {
    hub::HttpRequest r;
    r.method = "PUT";
    r.path = a.path;
    r.headers["authorization"] = a.auth;
    a_status = (*h)->upload(r,
                            [&](const hub::Hub::Receiver& receive) {
                              std::unique_lock lock(m);
                              a_reading = true;
                              cv.notify_all();
                              cv.wait(lock, [&] { return a_go; });
                              return receive(reinterpret_cast<const char*>(a.bytes.data()),
                                             a.bytes.size());
                            })
                   .status;
  });
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return a_reading; });
  }
  std::atomic<bool> b_done{false};
  std::thread tb([&] {
    b_status = put(**h, b.path, b.auth, b.bytes).status;
    b_done = true;
  });
  // B waits (before: answered 429 at once); C finds the waiting room full.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(b_done.load());
  auto busy = put(**h, c.path, c.auth, c.bytes);
  CHECK(busy.status == 429);
  CHECK(std::any_of(busy.headers.begin(), busy.headers.end(),
                    [](const auto& kv) { return kv.first == "Retry-After"; }));
  {
    std::lock_guard lock(m);
    a_go = true;
  }
  cv.notify_all();
  ta.join();
  tb.join();
  CHECK(a_status == 200);
  CHECK(b_status == 200);
  CHECK(put(**h, c.path, c.auth, c.bytes).status == 200);

  // A waiter when the hub stops: 503, not left hanging for its wait.
  Upload d = prepare(4), e = prepare(5);
  a_reading = a_go = false;
  std::thread td([&] {
    hub::HttpRequest r;
    r.method = "PUT";
    r.path = d.path;
    r.headers["authorization"] = d.auth;
    (*h)->upload(r, [&](const hub::Hub::Receiver&) {
      std::unique_lock lock(m);
      a_reading = true;
      cv.notify_all();
      cv.wait(lock, [&] { return a_go; });
      return false;
    });
  });
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return a_reading; });
  }
  int e_status = 0;
  std::thread te([&] { e_status = put(**h, e.path, e.auth, e.bytes).status; });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (*h)->stop();
  te.join();
  CHECK(e_status == 503);
  {
    std::lock_guard lock(m);
    a_go = true;
  }
  cv.notify_all();
  td.join();
}
