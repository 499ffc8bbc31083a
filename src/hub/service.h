// The hub's logic (`git zipllm serve`): a Git LFS server whose objects are
// stored deduplicated and delta-coded, behind a small request/response
// interface so it is tested without sockets (the HTTP layer,
// hub/http_server.h, only moves bytes).
//
// Endpoints, for repository ORG/NAME (".git" optional):
//   POST /ORG/NAME.git/info/lfs/objects/batch     the batch API
//   PUT  /ORG/NAME.git/info/lfs/objects/OID       basic upload (streamed)
//   GET  /ORG/NAME.git/info/lfs/objects/OID       basic download (Range)
//   POST /ORG/NAME.git/info/lfs/verify            {oid, size}: stored?
//   POST /ORG/NAME.git/info/lfs/locks/verify      404: no locking
//   the zipllm transfer adapter (git-zipllm clients; docs/HUB.md), under
//        /ORG/NAME.git/info/lfs/zipllm/OID:
//   POST …/missing        which of these object ids must be sent
//   PUT  …/objects/ID     one encoded object, staged for this upload
//   POST …/commit         the manifest: checked by reconstruction, then
//                         the staged objects and the manifest are stored
//   GET  …/manifest, GET …/objects/ID (of that file only), GET … (whole)
//   GET  /healthz, GET /stats
//
// The store is a directory in the remote-store layout (docs/FORMAT.md §5a,
// plus packs): objects/, lfs/<oid[0:2]>/<oid[2:4]>/<oid> (the manifest of
// every LFS object, written last), the signature index (models/, index/),
// and hub/: the secret that signs action tokens, and which repositories
// link which objects (hub/repos/ORG/NAME/<oid[0:2]>/<oid>, empty), and
// uploads accepted but not yet stored (hub/pending/<oid>). Objects
// are shared across repositories; a repository sees only what it links,
// and linking needs the bytes (an upload of content the hub already holds
// is checked and linked, never answered "already there"; the zipllm
// adapter's "missing" query counts only objects of files this repository
// links as present). Objects a client sends through the zipllm adapter are
// staged in hub/incoming/ until the file they make up reconstructs to its
// oid, then stored as foreign (compared before anything deduplicates
// against them).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "format/manifest.h"
#include "hub/auth.h"
#include "hub/upload_gate.h"
#include "remote/fetch_through.h"
#include "remote/remote_store.h"
#include "store/local_store.h"
#include "store/resolver.h"
#include "util/thread_pool.h"

namespace zipllm::hub {

struct HubOptions {
  std::string store;  // directory (with `shared`: this instance's working copy)
  // A remote store (s3://…, a directory) holding the hub's state for every
  // instance: objects, manifests, repository links, the token secret.
  std::string shared;
  std::string auth_file;  // "" = open hub
  bool anonymous_push = false;
  std::string public_url;            // base of action hrefs; "" = http://<Host>
  unsigned max_uploads = 4;          // in flight at once; more wait for a slot
  unsigned upload_waiters = 8;       // uploads waiting for a slot; more get 429
  int64_t upload_wait_ms = 120'000;  // how long one waits before its 429
  int64_t token_ttl = 4 * 3600;      // seconds an action stays valid
  unsigned ingest_threads = 0;       // per upload; 0 = ThreadPool::default_threads()
};

struct HttpRequest {
  std::string method;
  std::string path;                            // no query string
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // JSON endpoints only
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// A download being restored while it is sent: bytes become readable in
// order, as the restore puts them in place (every chunk checked as it is
// decoded); the whole file's SHA-256 is checked at the end.
class Download {
 public:
  // `offset`: where the bytes start in the file given to opened().
  explicit Download(uint64_t size, uint64_t offset = 0) : m_size(size), m_offset(offset) {}
  uint64_t size() const { return m_size; }
  // Copies up to `n` bytes at `offset` into `buf`, waiting until they are
  // in place; 0 if the restore failed (the connection is then cut).
  size_t read(uint64_t offset, uint8_t* buf, size_t n);

  // The restoring side.
  void opened(int fd);
  void progress(uint64_t in_place);
  void finished(bool ok);

 private:
  const uint64_t m_size;
  const uint64_t m_offset;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  Fd m_fd;
  uint64_t m_ready = 0;
  bool m_done = false, m_failed = false;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/vnd.git-lfs+json";
  std::string body;
  // A download: the file's bytes, as they are restored.
  std::shared_ptr<Download> file;
  // For the request log.
  std::string repo, oid;
  uint64_t bytes_in = 0;
};

class Hub {
 public:
  static Result<std::unique_ptr<Hub>> open(const HubOptions& opts);
  ~Hub();

  // Every request but an upload's body.
  HttpResponse handle(const HttpRequest& req);
  // PUT of an object: `read_body` calls its argument with the body in
  // pieces and returns false if the connection broke.
  using Receiver = std::function<bool(const char*, size_t)>;
  HttpResponse upload(const HttpRequest& req,
                      const std::function<bool(const Receiver&)>& read_body);
  // Whether `req` is an upload (to route the body to upload()).
  static bool is_upload(const HttpRequest& req);

  // Shutting down: uploads still receiving their body are abandoned
  // (nothing of them is published); those already being stored finish.
  void stop();
  // Until every accepted upload is stored (tests, benchmarks).
  void wait_idle();

  // Totals, and per repository those `visible` accepts (all if empty).
  std::string stats_json(const std::function<bool(const std::string&)>& visible = {});
  const std::string& store_root() const { return m_root; }

 private:
  Hub() = default;
  struct Route {
    std::string repo;
    std::string rest;  // after info/lfs/
  };
  std::optional<Route> route(const std::string& path) const;
  HttpResponse batch(const HttpRequest& req, const Route& r);
  HttpResponse download(const HttpRequest& req, const Route& r, const std::string& oid);
  HttpResponse verify(const HttpRequest& req, const Route& r);
  // The zipllm adapter (Route::rest = "zipllm/OID[/…]").
  HttpResponse zipllm(const HttpRequest& req, const Route& r);
  HttpResponse zl_missing(const HttpRequest& req, const Route& r, const std::string& oid);
  HttpResponse zl_commit(const HttpRequest& req, const Route& r, const std::string& oid);
  HttpResponse zl_get_object(const Route& r, const std::string& oid, const std::string& id);
  HttpResponse zl_put_object(const HttpRequest& req, const Route& r, const std::string& oid,
                             const std::string& id,
                             const std::function<bool(const Receiver&)>& read_body);
  // Where objects sent for `oid` in `repo` wait for its commit: kept across
  // batches, so a push cut short and retried sends only what is not there
  // yet; per repository, so they prove nothing for another one.
  std::string incoming_dir(const std::string& repo, const std::string& oid) const;
  // For each id: whether it is stored and needed by a file `repo` links
  // (so telling the client proves nothing about other repositories).
  std::vector<bool> visible(const std::string& repo, const std::vector<ObjectId>& ids);
  // Every object the stored file `oid` needs (delta bases included).
  Result<std::shared_ptr<const std::unordered_set<ObjectId, ObjectIdHash>>> needs_of(
      const std::string& oid);
  // The caller's right on `repo`, or the 401/403 to answer.
  std::optional<HttpResponse> deny(const HttpRequest& req, const std::string& repo, Right need,
                                   const std::string& oid = "");
  std::string href_base(const HttpRequest& req) const;

  // Objects: the working copy, fetching from the shared store on a miss.
  const store::ObjectSource& source() const;
  static std::string link_key(const std::string& repo, const std::string& oid);
  // The stored manifest of `oid` (from the shared store if not here yet);
  // NotFound if it is not stored (yet).
  Result<std::vector<uint8_t>> manifest_bytes(const std::string& oid) const;
  bool stored(const std::string& oid) const;
  // With a shared store: models in its signature index sharing `keys`
  // (those under the most keys first, at most k_max_shared), other than
  // those this instance's own index holds.
  std::vector<format::Manifest> shared_models(const std::vector<std::string>& keys) const;
  // Makes a stored file visible: its objects (and, with a shared store,
  // their upload there and its signature index markers), then its
  // manifest, then the local signature index.
  Status publish(const format::Manifest& m, const std::string& oid);
  // Whether `repo` holds `oid` (stored or pending); an error only when the
  // shared store cannot be asked.
  Result<bool> linked(const std::string& repo, const std::string& oid) const;
  Status link(const std::string& repo, const std::string& oid);
  std::string manifest_path(const std::string& oid) const;
  std::string pending_path(const std::string& oid) const;
  // The object's size, stored or pending.
  std::optional<uint64_t> stored_size(const std::string& oid) const;
  // Receives a request body into `f` (hashed into `sha` if given), at most
  // `limit` bytes, abandoned when the hub stops.
  struct Spooled {
    uint64_t got = 0;
    bool complete = false, too_big = false;
    Status write_error;
  };
  Spooled spool(AtomicFile& f, const std::function<bool(const Receiver&)>& read_body,
                uint64_t limit, Sha256* sha);
  // The answer when the body did not arrive whole and kept (none if it did).
  std::optional<HttpResponse> spool_failure(const Spooled& s, const std::string& what) const;
  void enqueue(const std::string& oid);
  void run_ingests();
  // Stores the verified upload in `file` (SHA-256 = oid) and publishes its
  // manifest.
  Status ingest(const std::string& oid, const std::string& file);

  HubOptions m_opts;
  std::string m_root;
  std::string m_secret;
  std::optional<Grants> m_grants;
  std::unique_ptr<store::LocalStore> m_reader;  // downloads, base candidates
  std::unique_ptr<remote::RemoteStore> m_shared;
  std::unique_ptr<remote::FetchThroughSource> m_fetch;
  store::Resolver m_resolver;
  std::unique_ptr<UploadGate> m_uploads;
  std::atomic<bool> m_stopping{false};
  // Restores running for downloads (the destructor waits for them).
  std::mutex m_downloads_mutex;
  std::condition_variable m_downloads_cv;
  unsigned m_downloads = 0;
  std::atomic<uint64_t> m_download_seq{0};
  // Accepted uploads (hub/pending/<oid>) waiting to be stored, one at a
  // time (each uses every core), by m_worker.
  std::mutex m_queue_mutex;
  std::condition_variable m_queue_cv;
  std::deque<std::string> m_queue;
  bool m_ingesting = false;
  std::thread m_worker;
  // Caches of visible() and needs_of(): per repository, the linked files
  // already counted and their objects; per file, its objects.
  struct Visible {
    std::set<std::string> oids;
    std::unordered_set<ObjectId, ObjectIdHash> ids;
  };
  std::mutex m_visible_mutex;
  std::map<std::string, Visible> m_visible;
  std::map<std::string, std::shared_ptr<const std::unordered_set<ObjectId, ObjectIdHash>>> m_needs;
};

}  // namespace zipllm::hub
