#include <doctest/doctest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "hub/auth.h"
#include "hub/service.h"
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

std::string path_of(const std::string& href) {
  return href.substr(href.find('/', 7));
}

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
