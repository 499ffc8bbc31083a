#include "hub/service.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "ops/base_finder.h"
#include "ops/base_model.h"
#include "ops/ingest.h"
#include "ops/model_index.h"
#include "ops/restore.h"
#include "remote/transfer.h"
#include "store/closure.h"
#include "store/object_io.h"
#include "util/file.h"
#include "util/hash.h"

namespace zipllm::hub {

namespace {

using nlohmann::json;

constexpr size_t k_max_batch = 1000;
constexpr size_t k_max_candidates = 8;
constexpr size_t k_max_indexed = 32;
// Models of the shared store's index considered when none here is related.
constexpr size_t k_max_shared = 2;
// Objects a zipllm client may ask about at once (a file's closure).
constexpr size_t k_max_closure = 1 << 20;

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool valid_oid(const std::string& oid) {
  return Sha256::from_hex(oid).has_value();
}

HttpResponse message(int status, const std::string& text) {
  HttpResponse r;
  r.status = status;
  r.body = json{{"message", text}}.dump();
  return r;
}

HttpResponse json_response(const json& j) {
  HttpResponse r;
  r.body = j.dump();
  return r;
}

// The hub's secret, shared by every instance on the store: created once
// (in the shared store when there is one: the first instance's wins).
Result<std::string> load_secret(const std::string& dir, remote::RemoteStore* shared) {
  TRY_STATUS(make_dirs(dir));
  std::string path = dir + "/secret";
  if (shared) {
    auto there = shared->get_text("hub/secret", 4096);
    if (!there && there.error().code == Errc::NotFound) {
      std::random_device rd;
      std::string s(64, '0');
      static const char* hex = "0123456789abcdef";
      for (auto& c : s) {
        c = hex[rd() & 15];
      }
      TRY_STATUS(shared->put_text("hub/secret", s));
      there = shared->get_text("hub/secret", 4096);
    }
    if (!there) {
      return std::move(there).error().context("the hub's secret in " + shared->url());
    }
    if (there->size() < 16) {
      return make_error(Errc::Corrupt, shared->url() + " hub/secret is too short");
    }
    return std::move(*there);
  }
  if (!path_exists(path)) {
    std::random_device rd;
    std::string s(32, '\0');
    for (auto& c : s) {
      c = static_cast<char>(rd());
    }
    auto f = TRY(AtomicFile::create(path, 0600));
    TRY_STATUS(f.write(ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size())));
    TRY_STATUS(f.commit(/*keep_existing=*/true));  // another instance may have won
  }
  auto bytes = TRY(read_whole_file(path, 4096));
  if (bytes.size() < 16) {
    return make_error(Errc::Corrupt, path + " is too short to be the hub's secret");
  }
  return std::string(bytes.begin(), bytes.end());
}

bool no_space(const Error& e) {
  return e.message.find("No space left") != std::string::npos ||
         e.message.find("Disk quota") != std::string::npos ||
         e.message.find("File too large") != std::string::npos;
}

// The answer when the store fails us: 507 full, 503 the shared store
// unreachable (a retry may work), 500 otherwise.
HttpResponse store_failure(const Error& e) {
  return message(no_space(e) ? 507 : e.code == Errc::Unavailable ? 503 : 500, e.message);
}

// One of the hub's bounded upload slots, held for a request's life: beyond
// max_uploads in flight, the client waits and retries.
class UploadSlot {
 public:
  UploadSlot(std::atomic<unsigned>& n, unsigned max) : m_n(n), m_ok(++n <= max) {}
  ~UploadSlot() { --m_n; }
  bool ok() const { return m_ok; }

 private:
  std::atomic<unsigned>& m_n;
  bool m_ok;
};

HttpResponse too_busy() {
  HttpResponse busy = message(429, "too many uploads in flight; retry shortly");
  busy.headers.emplace_back("Retry-After", "2");
  return busy;
}

// The hub's store as ingest's sink. Uploads come from strangers: a stored
// object whose bytes differ from an upload's raw bytes of the same id (ids
// are XXH3-128, which can be collided on purpose) is not damage to set
// aside — files others stored check out with it — so the upload is refused
// (and kept as uploaded) rather than the stored copy replaced.
class StrangersSink : public store::ObjectSink {
 public:
  explicit StrangersSink(store::LocalStore& s) : m_s(s) {}
  bool contains(const ObjectId& id) const override { return m_s.contains(id); }
  Holding holding(const ObjectId& id) override { return m_s.holding(id); }
  Status vouch(const ObjectId& id) override { return m_s.vouch(id); }
  Status reject(const ObjectId& id) override {
    return make_error(Errc::Corrupt, "object " + id.hex() +
                                         " is stored with other bytes than this upload's "
                                         "(an id collision): kept as uploaded");
  }
  Result<std::unique_ptr<store::ObjectOutput>> create(const ObjectId& id,
                                                      uint64_t raw_size) override {
    return m_s.create(id, raw_size);
  }
  Status finish() override { return m_s.finish(); }

 private:
  store::LocalStore& m_s;
};

}  // namespace

Hub::Spooled Hub::spool(AtomicFile& f, const std::function<bool(const Receiver&)>& read_body,
                        uint64_t limit, Sha256* sha) {
  Spooled s;
  s.complete = read_body([&](const char* p, size_t n) {
    if (m_stopping) {
      return false;
    }
    ByteView piece(reinterpret_cast<const uint8_t*>(p), n);
    if (sha) {
      sha->update(piece);
    }
    s.got += n;
    if (s.got > limit) {
      s.too_big = true;
      return false;
    }
    s.write_error = f.write(piece);
    return s.write_error.ok();
  });
  return s;
}

std::optional<HttpResponse> Hub::spool_failure(const Spooled& s, const std::string& what) const {
  std::optional<HttpResponse> r;
  if (!s.write_error) {
    r = message(no_space(s.write_error.error()) ? 507 : 500,
                "cannot keep " + what + ": " + s.write_error.error().message);
  } else if (s.too_big) {
    r = message(413, what + " is larger than it can be");
  } else if (!s.complete) {
    r = message(m_stopping ? 503 : 400,
                what + (m_stopping ? " was abandoned: the hub is stopping" : " ended early"));
  }
  if (r) {
    r->bytes_in = s.got;
  }
  return r;
}

Result<std::unique_ptr<Hub>> Hub::open(const HubOptions& opts) {
  std::unique_ptr<Hub> h(new Hub());
  h->m_opts = opts;
  h->m_root = opts.store;
  while (h->m_root.size() > 1 && h->m_root.back() == '/') {
    h->m_root.pop_back();
  }
  h->m_reader = TRY_CTX(store::LocalStore::open(h->m_root), "hub store " + h->m_root);
  if (!opts.shared.empty()) {
    // The shared store holds the state; the directory is this instance's
    // working copy: objects are fetched into it when first needed.
    h->m_shared = TRY(remote::open_remote(opts.shared, {}));
    TRY_STATUS(remote::ping_remote(*h->m_shared));
    std::vector<std::unique_ptr<remote::RemoteStore>> ups;
    ups.push_back(TRY(remote::open_remote(opts.shared, {})));
    h->m_fetch = std::make_unique<remote::FetchThroughSource>(*h->m_reader, std::move(ups));
  }
  h->m_resolver.add_source(&h->source());
  h->m_secret = TRY(load_secret(h->m_root + "/hub", h->m_shared.get()));
  if (!opts.auth_file.empty()) {
    h->m_grants = TRY(Grants::load(opts.auth_file));
  } else {
    h->m_grants = Grants::open_hub(opts.anonymous_push);
  }
  TRY_STATUS(make_dirs(h->m_root + "/tmp"));
  // What a killed instance left: temp files nobody holds any more (those
  // of instances still running are locked by them).
  for (const auto& f : list_dir(h->m_root + "/tmp")) {
    if (is_plain_file(f) && !temp_file_in_use(f)) {
      ::unlink(f.c_str());
    }
  }
  // Objects zipllm clients sent for files they never committed (a client
  // killed mid-push): kept while their batch's tokens could still commit.
  for (const auto& d : list_dir(h->m_root + "/hub/incoming")) {
    std::error_code ec;
    auto age =
        std::filesystem::file_time_type::clock::now() - std::filesystem::last_write_time(d, ec);
    if (!ec && age > std::chrono::seconds(opts.token_ttl + 3600)) {
      std::filesystem::remove_all(d, ec);
    }
  }
  // Uploads accepted but not yet stored (a stop or a kill came first).
  for (const auto& f : list_dir(h->m_root + "/hub/pending")) {
    std::string oid = f.substr(f.rfind('/') + 1);
    if (valid_oid(oid)) {
      h->enqueue(oid);
    }
  }
  h->m_worker = std::thread([hub = h.get()] { hub->run_ingests(); });
  return h;
}

std::optional<Hub::Route> Hub::route(const std::string& path) const {
  // /ORG/NAME[.git]/info/lfs/REST
  size_t a = path.find('/', 1);
  if (path.empty() || path[0] != '/' || a == std::string::npos) {
    return std::nullopt;
  }
  size_t b = path.find('/', a + 1);
  if (b == std::string::npos || path.compare(b, 10, "/info/lfs/") != 0) {
    return std::nullopt;
  }
  std::string name = path.substr(a + 1, b - a - 1);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".git") == 0) {
    name.resize(name.size() - 4);
  }
  Route r{path.substr(1, a - 1) + "/" + name, path.substr(b + 10)};
  if (!valid_repo(r.repo)) {
    return std::nullopt;
  }
  return r;
}

std::string Hub::href_base(const HttpRequest& req) const {
  if (!m_opts.public_url.empty()) {
    return m_opts.public_url;
  }
  return "http://" + req.header("host");
}

std::string Hub::manifest_path(const std::string& oid) const {
  return m_root + "/lfs/" + oid.substr(0, 2) + "/" + oid.substr(2, 2) + "/" + oid;
}

std::string Hub::pending_path(const std::string& oid) const {
  return m_root + "/hub/pending/" + oid;
}

const store::ObjectSource& Hub::source() const {
  if (m_fetch) {
    return *m_fetch;
  }
  return *m_reader;
}

std::string Hub::link_key(const std::string& repo, const std::string& oid) {
  return "hub/repos/" + repo + "/" + oid.substr(0, 2) + "/" + oid;
}

Result<std::vector<uint8_t>> Hub::manifest_bytes(const std::string& oid) const {
  auto bytes = read_whole_file(manifest_path(oid), format::k_max_manifest_size);
  if (bytes || !m_shared) {
    return bytes;
  }
  // Stored by another instance: kept here too (a cache of the shared one).
  auto text =
      TRY(m_shared->get_text(remote::RemoteStore::lfs_key(oid), format::k_max_manifest_size));
  std::string path = manifest_path(oid);
  if (make_dirs(path.substr(0, path.rfind('/')))) {
    if (auto f = AtomicFile::create(path, 0644, /*durable=*/false)) {
      if (f->write(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()))) {
        (void)f->commit(/*keep_existing=*/true);
      }
    }
  }
  return std::vector<uint8_t>(text.begin(), text.end());
}

bool Hub::stored(const std::string& oid) const {
  return path_exists(manifest_path(oid)) || manifest_bytes(oid).ok();
}

Result<bool> Hub::linked(const std::string& repo, const std::string& oid) const {
  std::string marker = m_root + "/" + link_key(repo, oid);
  bool here = path_exists(marker);
  if (!here && m_shared) {
    here = TRY(m_shared->has(link_key(repo, oid)));
    if (here && make_dirs(marker.substr(0, marker.rfind('/')))) {
      if (auto f = AtomicFile::create(marker, 0644, /*durable=*/false)) {
        (void)f->commit(/*keep_existing=*/true);
      }
    }
  }
  if (!here || path_exists(pending_path(oid))) {
    return here;
  }
  auto m = manifest_bytes(oid);
  if (!m && m.error().code != Errc::NotFound) {
    return m.error();
  }
  return m.ok();
}

std::optional<uint64_t> Hub::stored_size(const std::string& oid) const {
  auto bytes = manifest_bytes(oid);
  if (bytes) {
    auto m = format::parse_manifest(std::string(bytes->begin(), bytes->end()));
    return m ? std::make_optional(m->size) : std::nullopt;
  }
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(pending_path(oid), ec);
  return ec ? std::nullopt : std::make_optional(size);
}

Status Hub::link(const std::string& repo, const std::string& oid) {
  std::string dir = m_root + "/hub/repos/" + repo + "/" + oid.substr(0, 2);
  TRY_STATUS(make_dirs(dir));
  auto f = TRY(AtomicFile::create(dir + "/" + oid, 0644));
  TRY_STATUS(f.commit(/*keep_existing=*/true));
  if (m_shared) {
    TRY_STATUS(remote::with_retry(remote::default_transfer_options(""),
                                  [&] { return m_shared->put_text(link_key(repo, oid), ""); }));
  }
  return {};
}

std::vector<format::Manifest> Hub::shared_models(const std::vector<std::string>& keys) const {
  std::vector<format::Manifest> out;
  if (!m_shared) {
    return out;
  }
  ops::ModelIndex local(m_root);
  std::vector<std::vector<std::string>> per_key;
  for (const auto& key : keys) {
    auto names = m_shared->list(ops::index_prefix(key));
    if (!names) {
      return out;  // best effort: no base costs savings, never data
    }
    per_key.push_back(std::move(*names));
  }
  for (const auto& hex : ops::most_shared(per_key)) {
    auto sha = Sha256::from_hex(hex);
    if (out.size() >= k_max_shared || !sha || local.has(*sha)) {
      continue;
    }
    auto bytes = manifest_bytes(hex);
    auto m = bytes ? format::parse_manifest(std::string(bytes->begin(), bytes->end()))
                   : Result<format::Manifest>(bytes.error());
    if (m && !m->generic && m->sha256 == *sha) {
      out.push_back(std::move(*m));
    }
  }
  return out;
}

Status Hub::publish(const format::Manifest& m, const std::string& oid) {
  std::string text = format::serialize_manifest(m);
  if (m_shared) {
    // Objects first, then the signature index's markers, then the
    // manifest: the shared store never names data it lacks (every
    // instance relies on that), and every instance finds the model as a
    // base by content.
    auto ids = TRY(store::object_closure(source(), format::object_ids(m)));
    TRY(remote::upload_objects(source(), *m_shared, ids, remote::default_transfer_options("")));
    if (!m.generic) {
      for (const auto& key : ops::signature_keys(m)) {
        TRY_STATUS(remote::with_retry(remote::default_transfer_options(""), [&] {
          return m_shared->put_text(ops::index_prefix(key) + oid, "");
        }));
      }
    }
    TRY_STATUS(remote::with_retry(remote::default_transfer_options(""), [&] {
      return m_shared->put_text(remote::RemoteStore::lfs_key(oid), text);
    }));
  }
  std::string path = manifest_path(oid);
  TRY_STATUS(make_dirs(path.substr(0, path.rfind('/'))));
  auto out = TRY(AtomicFile::create(path, 0644));
  TRY_STATUS(out.write(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
  TRY_STATUS(out.commit(/*keep_existing=*/true));
  ops::ModelIndex(m_root).add(m);
  return {};
}

std::optional<HttpResponse> Hub::deny(const HttpRequest& req, const std::string& repo, Right need,
                                      const std::string& oid) {
  std::string auth = req.header("authorization");
  if (!oid.empty()) {
    if (auto t = check_action(auth, m_secret, now_seconds())) {
      bool fits = t->repo == repo && t->oid == oid &&
                  (t->op == "download" ? need == Right::Read : t->op == "upload");
      if (fits) {
        return std::nullopt;
      }
      return message(403, "this action's token is for another object or operation");
    }
  }
  Caller c = m_grants->identify(auth);
  if (m_grants->right(c, repo) >= need) {
    return std::nullopt;
  }
  if (m_grants->open()) {
    // No token could change the answer: no credential prompt.
    return message(403,
                   "this hub takes no pushes (its operator can start it with --auth FILE, "
                   "or --allow-anonymous-push on a trusted network)");
  }
  if (!c.presented || !c.known) {
    HttpResponse r = message(401, "credentials needed for " + repo);
    r.headers.emplace_back("LFS-Authenticate", "Basic realm=\"git-zipllm\"");
    return r;
  }
  return message(403, need == Right::Write ? "this token may not push to " + repo
                                           : "this token may not read " + repo);
}

bool Hub::is_upload(const HttpRequest& req) {
  return req.method == "PUT";
}

HttpResponse Hub::handle(const HttpRequest& req) {
  if (req.method == "GET" && req.path == "/healthz") {
    HttpResponse r;
    r.content_type = "text/plain";
    r.body = "ok\n";
    return r;
  }
  if (req.method == "GET" && req.path == "/stats") {
    // Totals for anyone; per repository only those the caller may read
    // (repository names are not public on a hub with tokens).
    Caller c = m_grants->identify(req.header("authorization"));
    HttpResponse r;
    r.content_type = "application/json";
    r.body = stats_json(
        [&](const std::string& repo) { return m_grants->right(c, repo) >= Right::Read; });
    return r;
  }
  auto r = route(req.path);
  if (!r) {
    return message(404, "not a Git LFS endpoint: " + req.path);
  }
  if (req.method == "POST" && r->rest == "objects/batch") {
    auto resp = batch(req, *r);
    resp.repo = r->repo;
    return resp;
  }
  if (req.method == "GET" && r->rest.rfind("objects/", 0) == 0) {
    auto resp = download(req, *r, r->rest.substr(8));
    resp.repo = r->repo;
    resp.oid = r->rest.substr(8);
    return resp;
  }
  if (req.method == "POST" && r->rest == "verify") {
    auto resp = verify(req, *r);
    resp.repo = r->repo;
    return resp;
  }
  if (r->rest.rfind("zipllm/", 0) == 0) {
    auto resp = zipllm(req, *r);
    resp.repo = r->repo;
    return resp;
  }
  // No locking: git-lfs then pushes without it, quietly.
  return message(404, "not found: " + req.path);
}

HttpResponse Hub::batch(const HttpRequest& req, const Route& r) {
  json in = json::parse(req.body, nullptr, false);
  if (in.is_discarded() || !in.is_object() || !in.contains("objects") ||
      !in["objects"].is_array() || !in.contains("operation") || !in["operation"].is_string()) {
    return message(422, "a batch request is a JSON object with operation and objects");
  }
  std::string op = in["operation"];
  if (op != "upload" && op != "download") {
    return message(422, "unknown operation '" + op + "'");
  }
  if (in.contains("hash_algo") && in["hash_algo"] != "sha256") {
    return message(409, "only sha256 objects are stored here");
  }
  if (in["objects"].size() > k_max_batch) {
    return message(422, "at most " + std::to_string(k_max_batch) + " objects per batch");
  }
  Right need = op == "upload" ? Right::Write : Right::Read;
  if (auto no = deny(req, r.repo, need)) {
    return *no;
  }
  // (With a shared store, another instance may hold the repository: the
  // objects answer for themselves.)
  if (op == "download" && !m_shared && !path_exists(m_root + "/hub/repos/" + r.repo)) {
    return message(404, "Repository or object not found: " + r.repo);
  }
  const std::string base = href_base(req) + "/" + r.repo + ".git/info/lfs/";
  // The zipllm adapter only when this request offers it: git-lfs falls
  // back to basic, silently, on a name it does not have.
  bool zl = false;
  if (in.contains("transfers") && in["transfers"].is_array()) {
    for (const auto& t : in["transfers"]) {
      zl = zl || (t.is_string() && t == "zipllm");
    }
  }
  const std::string object_base = base + (zl ? "zipllm/" : "objects/");
  const int64_t expiry = now_seconds() + m_opts.token_ttl;
  json out = json::array();
  for (const auto& o : in["objects"]) {
    json item = json::object();
    std::string oid = o.contains("oid") && o["oid"].is_string() ? o["oid"].get<std::string>() : "";
    bool size_ok = o.contains("size") && o["size"].is_number_integer() && o["size"] >= 0;
    item["oid"] = oid;
    item["size"] = size_ok ? o["size"] : json(0);
    if (!valid_oid(oid) || !size_ok) {
      item["error"] = {{"code", 422}, {"message", "invalid oid or size"}};
      out.push_back(item);
      continue;
    }
    uint64_t size = o["size"];
    item["authenticated"] = true;
    auto linked_here = linked(r.repo, oid);
    if (!linked_here) {
      return store_failure(linked_here.error());
    }
    bool have = *linked_here;
    auto action = [&](const std::string& href, const std::string& aop) {
      ActionToken t{aop, r.repo, oid, size, expiry};
      return json{{"href", href},
                  {"header", {{"Authorization", "Bearer " + sign_action(t, m_secret)}}},
                  {"expires_in", m_opts.token_ttl}};
    };
    if (op == "upload") {
      if (!have) {
        item["actions"] = {{"upload", action(object_base + oid, "upload")},
                           {"verify", action(base + "verify", "upload")}};
      }
    } else if (have) {
      item["actions"] = {{"download", action(object_base + oid, "download")}};
    } else {
      item["error"] = {{"code", 404}, {"message", "Object does not exist"}};
    }
    out.push_back(item);
  }
  return json_response(
      {{"transfer", zl ? "zipllm" : "basic"}, {"objects", out}, {"hash_algo", "sha256"}});
}

HttpResponse Hub::verify(const HttpRequest& req, const Route& r) {
  json in = json::parse(req.body, nullptr, false);
  if (in.is_discarded() || !in.is_object() || !in.contains("oid") || !in["oid"].is_string() ||
      !in.contains("size") || !in["size"].is_number_integer()) {
    return message(422, "a verify request is {\"oid\", \"size\"}");
  }
  std::string oid = in["oid"];
  if (!valid_oid(oid)) {
    return message(422, "invalid oid");
  }
  if (auto no = deny(req, r.repo, Right::Read, oid)) {
    return *no;
  }
  auto have = linked(r.repo, oid);
  if (!have) {
    return store_failure(have.error());
  }
  if (!*have) {
    return message(404, "object " + oid + " is not stored for " + r.repo);
  }
  if (stored_size(oid) != in["size"].get<uint64_t>()) {
    return message(422, "object " + oid + " is stored with another size");
  }
  return json_response(json::object());
}

HttpResponse Hub::download(const HttpRequest& req, const Route& r, const std::string& oid) {
  if (!valid_oid(oid)) {
    return message(422, "invalid oid");
  }
  if (auto no = deny(req, r.repo, Right::Read, oid)) {
    return *no;
  }
  auto have = linked(r.repo, oid);
  if (!have) {
    return store_failure(have.error());
  }
  if (!*have) {
    return message(404, "Object does not exist");
  }
  auto bytes = manifest_bytes(oid);
  if (!bytes) {
    // Not stored yet: the file as it was uploaded (verified then).
    if (auto fd = open_read(pending_path(oid))) {
      if (auto size = file_size(fd->get(), pending_path(oid))) {
        auto d = std::make_shared<Download>(*size);
        d->opened(fd->get());
        d->finished(true);
        HttpResponse resp;
        resp.content_type = "application/octet-stream";
        resp.file = std::move(d);
        return resp;
      }
    }
    bytes = manifest_bytes(oid);  // stored meanwhile
  }
  if (!bytes) {
    return message(bytes.error().code == Errc::Unavailable ? 503 : 500,
                   "object " + oid + ": its manifest cannot be read: " + bytes.error().message);
  }
  auto m = format::parse_manifest(std::string(bytes->begin(), bytes->end()));
  if (!m) {
    return message(500, "object " + oid + ": its manifest is damaged");
  }
  // Restored while it is sent: the bytes go out as they are in place,
  // each chunk checked as it is decoded (git-lfs gives up on a connection
  // silent for 30 s: a big model cannot be restored whole first).
  auto d = std::make_shared<Download>(m->size);
  {
    std::lock_guard lock(m_downloads_mutex);
    ++m_downloads;
  }
  std::string out = m_root + "/tmp/hub-download-" + oid.substr(0, 16) + "-" +
                    std::to_string(::getpid()) + "-" + std::to_string(++m_download_seq);
  std::thread([this, d, out, m = std::move(*m)] {
    ThreadPool pool(m_opts.ingest_threads ? m_opts.ingest_threads : ThreadPool::default_threads());
    ops::RestoreOptions ro;
    ro.tmp_dir = m_root + "/tmp";
    ro.check_chunks = true;
    ro.on_file = [&](int fd) { d->opened(fd); };
    ro.on_progress = [&](uint64_t n) { d->progress(n); };
    Status st = ops::restore_file(m, m_resolver, out, pool, ro);
    if (!st) {
      std::fprintf(stderr, "hub: restoring %s failed: %s\n", Sha256::hex(m.sha256).c_str(),
                   st.error().message.c_str());
    }
    ::unlink(out.c_str());
    d->finished(st.ok());
    std::lock_guard lock(m_downloads_mutex);
    --m_downloads;
    m_downloads_cv.notify_all();
  }).detach();
  HttpResponse resp;
  resp.content_type = "application/octet-stream";
  resp.file = std::move(d);
  return resp;
}

Hub::~Hub() {
  stop();
  if (m_worker.joinable()) {
    m_worker.join();
  }
  std::unique_lock lock(m_downloads_mutex);
  m_downloads_cv.wait(lock, [&] { return m_downloads == 0; });
}

size_t Download::read(uint64_t offset, uint8_t* buf, size_t n) {
  std::unique_lock lock(m_mutex);
  n = static_cast<size_t>(std::min<uint64_t>(n, m_size - std::min(offset, m_size)));
  m_cv.wait(lock, [&] { return m_failed || m_done || (m_fd.get() >= 0 && m_ready >= offset + n); });
  if (m_failed || n == 0) {
    return 0;
  }
  ssize_t got = ::pread(m_fd.get(), buf, n, static_cast<off_t>(m_offset + offset));
  return got > 0 ? static_cast<size_t>(got) : 0;
}

void Download::opened(int fd) {
  std::lock_guard lock(m_mutex);
  m_fd = Fd(::dup(fd));
  m_cv.notify_all();
}

void Download::progress(uint64_t in_place) {
  std::lock_guard lock(m_mutex);
  m_ready = in_place;
  m_cv.notify_all();
}

void Download::finished(bool ok) {
  std::lock_guard lock(m_mutex);
  m_done = true;
  m_failed = !ok;
  if (ok) {
    m_ready = m_size;
  }
  m_cv.notify_all();
}

HttpResponse Hub::upload(const HttpRequest& req,
                         const std::function<bool(const Receiver&)>& read_body) {
  auto r = route(req.path);
  if (r && r->rest.rfind("zipllm/", 0) == 0) {
    // zipllm/OID/objects/ID
    std::string oid = r->rest.substr(7, 64);
    if (r->rest.size() == 7 + 64 + 9 + 32 && r->rest.compare(7 + 64, 9, "/objects/") == 0) {
      auto resp = zl_put_object(req, *r, oid, r->rest.substr(7 + 64 + 9), read_body);
      resp.repo = r->repo;
      resp.oid = oid;
      return resp;
    }
  }
  if (!r || r->rest.rfind("objects/", 0) != 0) {
    return message(404, "not an object URL: " + req.path);
  }
  std::string oid = r->rest.substr(8);
  if (!valid_oid(oid)) {
    return message(422, "invalid oid");
  }
  if (auto no = deny(req, r->repo, Right::Write, oid)) {
    return *no;
  }
  UploadSlot slot(m_uploads, m_opts.max_uploads);
  if (!slot.ok()) {
    return too_busy();
  }
  std::optional<uint64_t> want;
  if (auto t = check_action(req.header("authorization"), m_secret, now_seconds())) {
    want = t->size;
  }
  // Spooled durably, published as pending/<oid> once it hashes right.
  if (auto st = make_dirs(m_root + "/hub/pending"); !st) {
    return store_failure(st.error());
  }
  auto tmp = AtomicFile::create(pending_path(oid), 0444, /*durable=*/true, m_root + "/tmp");
  if (!tmp) {
    return store_failure(tmp.error());
  }
  Sha256 sha;
  Spooled body = spool(*tmp, read_body, std::numeric_limits<uint64_t>::max(), &sha);
  const uint64_t got = body.got;
  if (auto failed = spool_failure(body, "the upload of " + oid)) {
    return *failed;
  }
  HttpResponse resp;
  resp.repo = r->repo;
  resp.oid = oid;
  resp.bytes_in = got;
  if ((want && got != *want) || Sha256::hex(sha.finish()) != oid) {
    resp.status = 422;
    resp.body =
        json{{"message", "the bytes sent do not hash to " + oid +
                             (want && got != *want ? " (size " + std::to_string(got) +
                                                         ", expected " + std::to_string(*want) + ")"
                                                   : "")}}
            .dump();
    return resp;
  }
  // Accepted: the bytes are on disk and verified. Stored (deduplicated,
  // delta-coded) in the background, so the client is not kept waiting for
  // the encoding of a big model (git-lfs gives up after 30 s of silence);
  // until then downloads get the file as it came.
  if (!stored(oid)) {
    if (auto st = tmp->commit(/*keep_existing=*/true); !st) {
      return store_failure(st.error());
    }
    enqueue(oid);
  }
  if (auto st = link(r->repo, oid); !st) {
    return store_failure(st.error());
  }
  resp.body = "{}";
  return resp;
}

void Hub::enqueue(const std::string& oid) {
  std::lock_guard lock(m_queue_mutex);
  m_queue.push_back(oid);
  m_queue_cv.notify_all();
}

void Hub::run_ingests() {
  for (;;) {
    std::string oid;
    {
      std::unique_lock lock(m_queue_mutex);
      m_queue_cv.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
      if (m_stopping) {
        return;  // what is left stays pending: the next start stores it
      }
      oid = m_queue.front();
      m_ingesting = true;
    }
    std::string pending = pending_path(oid);
    if (path_exists(pending) && !stored(oid)) {
      if (auto st = ingest(oid, pending); !st) {
        // Kept as uploaded (downloads still work); tried again at the next start.
        std::fprintf(stderr, "hub: storing %s failed, kept as uploaded: %s\n", oid.c_str(),
                     st.error().message.c_str());
      }
    }
    if (stored(oid)) {
      ::unlink(pending.c_str());
    }
    std::lock_guard lock(m_queue_mutex);
    m_queue.pop_front();
    m_ingesting = false;
    m_queue_cv.notify_all();
  }
}

void Hub::wait_idle() {
  std::unique_lock lock(m_queue_mutex);
  m_queue_cv.wait(lock, [&] { return (m_queue.empty() && !m_ingesting) || m_stopping; });
}

void Hub::stop() {
  std::lock_guard lock(m_queue_mutex);
  m_stopping = true;
  m_queue_cv.notify_all();
}

Status Hub::ingest(const std::string& oid, const std::string& file) {
  // A writer of its own: its pack is published when this upload is done.
  auto store = TRY(store::LocalStore::open(m_root));
  store::Resolver resolver;
  resolver.add_source(store.get());
  if (m_fetch) {
    resolver.add_source(m_fetch.get());  // bases other instances stored
  }
  ops::ModelIndex index(m_root);
  ops::BaseModel base;
  // The base, hub-wide by content: an LFS server sees no paths or cards.
  if (auto f = ops::open_safetensors(file)) {
    std::vector<ops::CandidateModel> candidates;
    auto keys = ops::signature_keys(f->header);
    auto consider = [&](format::Manifest m, bool shared) {
      ops::CandidateModel c;
      c.name = Sha256::hex(m.sha256);
      c.shards.push_back(std::move(m));
      c.files.emplace_back();
      bool here = shared || std::all_of(c.shards[0].tensors.begin(), c.shards[0].tensors.end(),
                                        [&](const auto& t) { return store->contains(t.id); });
      if (here && ops::signature_coverage(f->header, c) >= ops::FinderOptions{}.min_coverage &&
          candidates.size() < k_max_candidates) {
        candidates.push_back(std::move(c));
      }
    };
    for (auto& m : index.lookup(keys, k_max_indexed)) {
      consider(std::move(m), false);
    }
    if (candidates.empty()) {
      for (auto& m : shared_models(keys)) {
        consider(std::move(m), true);
      }
    }
    if (!candidates.empty()) {
      auto ranking = TRY(ops::rank_bases(*f, candidates, resolver));
      if (!ranking.empty() && ranking[0].related) {
        const auto& c = candidates[ranking[0].index];
        TRY_STATUS(base.add_manifest(c.shards[0], "LFS object " + c.name.substr(0, 12)));
      }
    }
  }
  ThreadPool pool(m_opts.ingest_threads ? m_opts.ingest_threads : ThreadPool::default_threads());
  ops::IngestOptions io;
  io.allow_generic = true;
  StrangersSink sink(*store);
  auto m = TRY(
      ops::ingest_file(file, base.empty() ? nullptr : &base, resolver, sink, pool, io, nullptr));
  TRY_STATUS(store->finish());
  if (Sha256::hex(m.sha256) != oid) {
    return make_error(Errc::Internal, "the stored file does not hash to " + oid);
  }
  // Rebuilt from the store before the uploaded copy goes: every object
  // against its id, the whole against the oid. What deduplicated against
  // an object someone forged to collide fails here, and stays as uploaded.
  std::string check = m_root + "/tmp/hub-check-" + oid.substr(0, 16) + "-" +
                      std::to_string(::getpid()) + "-" + std::to_string(++m_download_seq);
  ops::RestoreOptions ro;
  ro.tmp_dir = m_root + "/tmp";
  Status rebuilt = ops::restore_file(m, resolver, check, pool, ro);
  ::unlink(check.c_str());
  if (!rebuilt) {
    return rebuilt.error().context("rebuilding " + oid + " from the store");
  }
  // Last: the manifest makes the object visible.
  return publish(m, oid);
}

// ---- the zipllm adapter -------------------------------------------------

HttpResponse Hub::zipllm(const HttpRequest& req, const Route& r) {
  // zipllm/OID[/manifest | /missing | /commit | /objects/ID]
  std::string oid = r.rest.substr(7, 64);
  std::string what = r.rest.size() > 7 + 64 ? r.rest.substr(7 + 64) : "";
  if (!valid_oid(oid) || (!what.empty() && what[0] != '/')) {
    return message(404, "not found: " + req.path);
  }
  Right need = req.method == "GET" ? Right::Read : Right::Write;
  if (auto no = deny(req, r.repo, need, oid)) {
    return *no;
  }
  HttpResponse resp;
  if (req.method == "GET" && what.empty()) {
    resp = download(req, r, oid);
  } else if (req.method == "GET" && what == "/manifest") {
    auto have = linked(r.repo, oid);
    auto bytes = have && *have ? manifest_bytes(oid) : make_error(Errc::NotFound, oid);
    if (!have) {
      resp = store_failure(have.error());
    } else if (!bytes && bytes.error().code != Errc::NotFound) {
      resp = store_failure(bytes.error());
    } else if (!bytes) {
      // Not stored (yet): the client takes the whole file instead.
      resp = message(404, "no manifest of " + oid + " here");
    } else {
      resp.content_type = "text/plain";
      resp.body.assign(bytes->begin(), bytes->end());
    }
  } else if (req.method == "GET" && what.rfind("/objects/", 0) == 0) {
    resp = zl_get_object(r, oid, what.substr(9));
  } else if (req.method == "POST" && what == "/missing") {
    resp = zl_missing(req, r, oid);
  } else if (req.method == "POST" && what == "/commit") {
    resp = zl_commit(req, r, oid);
  } else {
    resp = message(404, "not found: " + req.path);
  }
  resp.oid = oid;
  return resp;
}

std::string Hub::incoming_dir(const std::string& repo, const std::string& oid) const {
  Sha256 who;
  who.update(ByteView(reinterpret_cast<const uint8_t*>(repo.data()), repo.size()));
  return m_root + "/hub/incoming/" + oid + "." + Sha256::hex(who.finish()).substr(0, 16);
}

std::vector<bool> Hub::visible(const std::string& repo, const std::vector<ObjectId>& ids) {
  std::lock_guard lock(m_visible_mutex);
  Visible& v = m_visible[repo];
  for (const auto& bucket : list_dir(m_root + "/hub/repos/" + repo)) {
    for (const auto& entry : list_dir(bucket)) {
      std::string oid = entry.substr(entry.rfind('/') + 1);
      if (v.oids.count(oid) || !valid_oid(oid)) {
        continue;
      }
      auto bytes = manifest_bytes(oid);
      if (!bytes) {
        continue;  // pending: its objects are not stored yet
      }
      auto m = format::parse_manifest(std::string(bytes->begin(), bytes->end()));
      if (!m) {
        continue;
      }
      std::vector<ObjectId> absent;
      if (auto closure = store::object_closure(source(), format::object_ids(*m), &absent)) {
        v.ids.insert(closure->begin(), closure->end());
        v.oids.insert(oid);
      }
    }
  }
  std::vector<bool> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    out.push_back(v.ids.count(id) && source().contains(id));
  }
  return out;
}

Result<std::shared_ptr<const std::unordered_set<ObjectId, ObjectIdHash>>> Hub::needs_of(
    const std::string& oid) {
  {
    std::lock_guard lock(m_visible_mutex);
    if (auto it = m_needs.find(oid); it != m_needs.end()) {
      return it->second;
    }
  }
  auto bytes = TRY(manifest_bytes(oid));
  auto m = TRY(format::parse_manifest(std::string(bytes.begin(), bytes.end())));
  auto closure = TRY(store::object_closure(source(), format::object_ids(m)));
  auto set = std::make_shared<const std::unordered_set<ObjectId, ObjectIdHash>>(closure.begin(),
                                                                                closure.end());
  std::lock_guard lock(m_visible_mutex);
  if (m_needs.size() >= 1024) {
    m_needs.clear();
  }
  m_needs[oid] = set;
  return set;
}

HttpResponse Hub::zl_missing(const HttpRequest& req, const Route& r, const std::string& oid) {
  json in = json::parse(req.body, nullptr, false);
  if (in.is_discarded() || !in.is_object() || !in.contains("objects") ||
      !in["objects"].is_array() || in["objects"].size() > k_max_closure) {
    return message(422, "a missing request is {\"objects\": [ID, …]} (at most " +
                            std::to_string(k_max_closure) + ")");
  }
  std::vector<ObjectId> ids;
  for (const auto& o : in["objects"]) {
    auto id = o.is_string() ? ObjectId::from_hex(o.get<std::string>()) : std::nullopt;
    if (!id) {
      return message(422, "not an object id: " + o.dump());
    }
    ids.push_back(*id);
  }
  // Present: stored and needed by a file this repository links, or sent
  // already in this upload (a retry).
  auto seen = visible(r.repo, ids);
  auto staged = store::LocalStore::open(incoming_dir(r.repo, oid), 0);
  json missing = json::array();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!seen[i] && !(staged && (*staged)->contains(ids[i]))) {
      missing.push_back(ids[i].hex());
    }
  }
  return json_response({{"missing", missing}});
}

HttpResponse Hub::zl_put_object(const HttpRequest& req, const Route& r, const std::string& oid,
                                const std::string& id_hex,
                                const std::function<bool(const Receiver&)>& read_body) {
  auto id = ObjectId::from_hex(id_hex);
  if (!valid_oid(oid) || !id) {
    return message(422, "invalid oid or object id");
  }
  if (auto no = deny(req, r.repo, Right::Write, oid)) {
    return *no;
  }
  auto token = check_action(req.header("authorization"), m_secret, now_seconds());
  UploadSlot slot(m_uploads, m_opts.max_uploads);
  if (!slot.ok()) {
    return too_busy();
  }
  auto staging = store::LocalStore::open(incoming_dir(r.repo, oid), 0);
  if (!staging) {
    return store_failure(staging.error());
  }
  auto f = (*staging)->create_loose(*id);
  if (!f) {
    return store_failure(f.error());
  }
  // An object of a file is never much larger than the file.
  uint64_t size = token ? token->size : 0;
  Spooled body = spool(*f, read_body, size + size / 8 + (4u << 20), nullptr);
  if (auto failed = spool_failure(body, "object " + id_hex)) {
    return *failed;
  }
  if (auto st = f->commit(/*keep_existing=*/true); !st) {
    return store_failure(st.error());
  }
  // Its structure now (checksums, the id it claims); its bytes at the
  // commit, when the file they make up is rebuilt.
  auto loc = (*staging)->locate(*id);
  Status ok = loc && *loc ? store::check_encoded(**loc, *id)
                          : make_error(Errc::Corrupt, "object " + id_hex + " vanished");
  if (!ok) {
    ::unlink((*staging)->path_of(*id).c_str());
    HttpResponse bad = message(422, ok.error().message);
    bad.bytes_in = body.got;
    return bad;
  }
  HttpResponse resp = json_response(json::object());
  resp.bytes_in = body.got;
  return resp;
}

HttpResponse Hub::zl_commit(const HttpRequest& req, const Route& r, const std::string& oid) {
  auto m = format::parse_manifest(req.body);
  if (!m) {
    return message(422, "not a manifest: " + m.error().message);
  }
  auto token = check_action(req.header("authorization"), m_secret, now_seconds());
  if (Sha256::hex(m->sha256) != oid || (token && token->size != m->size)) {
    return message(422, "the manifest describes another file than " + oid);
  }
  const std::string incoming = incoming_dir(r.repo, oid);
  auto staging = store::LocalStore::open(incoming, 0);
  if (!staging) {
    return store_failure(staging.error());
  }
  // Stored copies first: an object sent again (or a colliding one) never
  // replaces what others' files use.
  struct Both : store::ObjectSource {
    const store::ObjectSource *a, *b;
    Result<std::optional<store::ObjectLocation>> locate(const ObjectId& id) const override {
      auto l = TRY(a->locate(id));
      return l ? l : b->locate(id);
    }
    bool contains(const ObjectId& id) const override { return a->contains(id) || b->contains(id); }
  } both;
  both.a = &source();
  both.b = staging->get();
  std::vector<ObjectId> absent;
  auto closure = store::object_closure(both, format::object_ids(*m), &absent);
  if (!closure) {
    return message(422, "the objects of " + oid + " cannot be read: " + closure.error().message);
  }
  // What the client did not send must be visible to this repository.
  std::vector<ObjectId> stored;
  for (const auto& id : *closure) {
    if (!(*staging)->contains(id)) {
      stored.push_back(id);
    }
  }
  auto seen = visible(r.repo, stored);
  for (size_t i = 0; i < stored.size(); ++i) {
    if (!seen[i]) {
      absent.push_back(stored[i]);
    }
  }
  if (!absent.empty()) {
    return message(422, "object " + absent[0].hex() + " of " + oid + " was not sent");
  }
  // Rebuilt from exactly these objects, it must be the file (restore checks
  // every object against its id and the whole file against its SHA-256).
  store::Resolver resolver;
  resolver.add_source(&both);
  ThreadPool pool(m_opts.ingest_threads ? m_opts.ingest_threads : ThreadPool::default_threads());
  ops::RestoreOptions ro;
  ro.tmp_dir = m_root + "/tmp";
  std::string out = m_root + "/tmp/hub-check-" + oid.substr(0, 16) + "-" +
                    std::to_string(::getpid()) + "-" + std::to_string(++m_download_seq);
  Status rebuilt = ops::restore_file(*m, resolver, out, pool, ro);
  ::unlink(out.c_str());
  if (!rebuilt) {
    if (no_space(rebuilt.error())) {
      return message(507, rebuilt.error().message);
    }
    std::error_code ec;
    std::filesystem::remove_all(incoming, ec);
    return message(422, "the objects sent do not make up " + oid + ": " + rebuilt.error().message);
  }
  // The objects (foreign: compared with raw bytes before any upload
  // deduplicates against them), then the manifest, then the link.
  for (const auto& id : *closure) {
    if ((*staging)->contains(id)) {
      if (auto st = m_reader->adopt_loose(id, (*staging)->path_of(id), /*foreign=*/true); !st) {
        return store_failure(st.error());
      }
    }
  }
  Status published = publish(*m, oid);
  if (published) {
    published = link(r.repo, oid);
  }
  if (!published) {
    return store_failure(published.error());
  }
  std::error_code ec;
  std::filesystem::remove_all(incoming, ec);
  return json_response(json::object());
}

HttpResponse Hub::zl_get_object(const Route& r, const std::string& oid, const std::string& id_hex) {
  auto id = ObjectId::from_hex(id_hex);
  if (!id) {
    return message(422, "invalid object id");
  }
  // Only objects the file needs: the token is for this file.
  bool part = false;
  auto have = linked(r.repo, oid);
  if (!have) {
    return store_failure(have.error());
  }
  if (*have) {
    auto needs = needs_of(oid);
    if (!needs && needs.error().code == Errc::Unavailable) {
      return store_failure(needs.error());
    }
    part = needs && (*needs)->count(*id);
  }
  if (!part) {
    return message(404, "object " + id_hex + " is not part of " + oid);
  }
  auto loc = source().locate(*id);
  if (!loc) {
    return store_failure(loc.error());
  }
  if (!*loc) {
    return message(500, "object " + id_hex + " cannot be read");
  }
  auto d = std::make_shared<Download>((*loc)->length, (*loc)->offset);
  d->opened((*loc)->fd->get());
  d->finished(true);
  HttpResponse resp;
  resp.content_type = "application/octet-stream";
  resp.file = std::move(d);
  return resp;
}

std::string Hub::stats_json(const std::function<bool(const std::string&)>& visible) {
  json repos = json::object();
  uint64_t raw = 0;
  std::set<std::string> counted;
  for (const auto& org : list_dir(m_root + "/hub/repos")) {
    for (const auto& name : list_dir(org)) {
      uint64_t n = 0, bytes = 0;
      for (const auto& bucket : list_dir(name)) {
        for (const auto& entry : list_dir(bucket)) {
          std::string oid = entry.substr(entry.rfind('/') + 1);
          if (!valid_oid(oid)) {
            continue;
          }
          if (auto size = stored_size(oid)) {
            ++n;
            bytes += *size;
            if (counted.insert(oid).second) {
              raw += *size;
            }
          }
        }
      }
      std::string repo = org.substr(org.rfind('/') + 1) + "/" + name.substr(name.rfind('/') + 1);
      if (!visible || visible(repo)) {
        repos[repo] = {{"objects", n}, {"raw_bytes", bytes}};
      }
    }
  }
  uint64_t stored = 0;
  for (const auto& dir : {std::string("/objects"), std::string("/packs")}) {
    for (const auto& f : list_files_recursive(m_root + dir)) {
      std::error_code ec;
      auto size = std::filesystem::file_size(f, ec);
      stored += ec ? 0 : size;
    }
  }
  size_t pending = 0;
  for (const auto& f : list_dir(m_root + "/hub/pending")) {
    std::error_code ec;
    auto size = std::filesystem::file_size(f, ec);
    stored += ec ? 0 : size;
    pending += !ec;
  }
  return json{{"raw_bytes", raw},
              {"stored_bytes", stored},
              {"objects", counted.size()},
              {"pending", pending},
              {"repos", repos}}
      .dump();
}

}  // namespace zipllm::hub
