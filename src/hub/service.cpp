#include "hub/service.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "hub/responses.h"
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

using namespace detail;

namespace {

constexpr size_t k_max_batch = 1000;
constexpr size_t k_max_candidates = 8;
constexpr size_t k_max_indexed = 32;

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
  h->m_uploads = std::make_unique<UploadGate>(
      UploadGate::Limits{std::max(1u, opts.max_uploads), opts.upload_waiters,
                         std::chrono::milliseconds(opts.upload_wait_ms)});
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
  auto slot = m_uploads->acquire();
  if (!slot.ok()) {
    return too_busy(m_stopping);
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
  {
    std::lock_guard lock(m_queue_mutex);
    m_stopping = true;
    m_queue_cv.notify_all();
  }
  m_uploads->stop();
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
