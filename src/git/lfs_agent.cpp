#include "git/lfs_agent.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "git/base_choice.h"
#include "git/lfs_message.h"
#include "git/settings.h"
#include "git/sync.h"
#include "ops/ingest.h"
#include "ops/model_index.h"
#include "ops/restore.h"
#include "remote/hub_object.h"
#include "util/env.h"
#include "util/redact.h"

namespace zipllm::git {

namespace {

using nlohmann::json;

// git-lfs shows agent stderr only under GIT_TRACE; messages go in errors.
void trace(const std::string& s) {
  if (env::flag(env::Var::Trace)) {
    std::fprintf(stderr, "git-zipllm: transfer: %s\n", redact(s).c_str());
  }
}

// A busy hub answers 429 to uploads beyond its bound: wait for it longer
// than for a store (8 attempts: ~25 s of backoff).
remote::TransferOptions hub_transfer_options() {
  auto o = remote::default_transfer_options("");
  o.attempts = std::max(o.attempts, 8);
  return o;
}

class Agent {
 public:
  explicit Agent(ThreadPool& pool) : m_pool(pool) {}
  int run();

 private:
  void send(const json& j) {
    std::lock_guard lock(m_out);
    std::string line = j.dump() + "\n";
    (void)write_all(
        STDOUT_FILENO,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(line.data()), line.size()),
        "stdout");
  }
  // Progress for `oid`: at most ~10 per second, always the first and last.
  void progress(const std::string& oid, uint64_t so_far, bool force = false) {
    auto now = std::chrono::steady_clock::now();
    uint64_t since = so_far > m_reported ? so_far - m_reported : 0;
    if (!force && (since == 0 || now - m_last_report < std::chrono::milliseconds(100))) {
      return;
    }
    m_last_report = now;
    m_reported = so_far;
    send({{"event", "progress"}, {"oid", oid}, {"bytesSoFar", so_far}, {"bytesSinceLast", since}});
  }
  Status init(const LfsMessage& msg);
  // The standalone door's remote store, opened on first use (a hub's
  // actions need none).
  Status open_remote();
  Status upload(const std::string& oid, uint64_t size, const std::string& path);
  Result<std::string> download(const std::string& oid, uint64_t size);
  // Through a git-zipllm hub's zipllm adapter (the batch action's href).
  Status hub_upload(const LfsMessage& msg);
  Result<std::string> hub_download(const LfsMessage& msg);
  // `got` holds the whole file as stored: checked against the oid, then
  // renamed to `out` for git-lfs.
  Status accept_whole(TempFile& got, const std::string& oid, uint64_t size, const std::string& from,
                      const std::string& out);
  // Records the manifest of an LFS object whose objects this store holds.
  void keep_manifest(const std::string& oid, const std::string& text);
  Result<format::Manifest> ingest(const std::string& oid, const std::string& path, uint64_t size);
  std::string repo_path_of(const std::string& oid);

  ThreadPool& m_pool;
  std::mutex m_out;
  std::optional<Repo> m_repo;
  std::unique_ptr<ModelStore> m_store;   // local store, upstream = the remote
  std::optional<BaseChooser> m_chooser;  // remembers what this agent stored
  remote::RemoteStore* m_remote = nullptr;
  std::string m_operation;
  std::string m_remote_name;
  std::optional<Status> m_remote_status;  // once open_remote() ran
  std::unique_ptr<remote::RemoteStore> m_remote_owned;
  std::optional<std::map<std::string, std::string>> m_paths;  // LFS oid -> repository path
  std::mutex m_progress;
  uint64_t m_reported = 0;
  std::chrono::steady_clock::time_point m_last_report;
};

Status Agent::init(const LfsMessage& msg) {
  m_operation = msg.operation;
  m_remote_name = msg.remote;
  m_repo.emplace(TRY(Repo::open()));
  m_store = TRY(ModelStore::open_local(*m_repo));
  trace("init " + m_operation + " remote=" + m_remote_name);
  return {};
}

Status Agent::open_remote() {
  if (m_remote_status) {
    return *m_remote_status;
  }
  m_remote_status = [&]() -> Status {
    Settings settings = Settings::load(*m_repo);
    RemoteTarget t;
    auto remote = TRY(open_remote_store(*m_repo, settings, m_remote_name, &t));
    TRY_STATUS(remote::ping_remote(*remote));
    m_remote = remote.get();
    // Objects missing locally come from the remote while restoring.
    std::vector<std::unique_ptr<remote::RemoteStore>> ups;
    ups.push_back(std::move(remote));
    store::LocalStore& local = *m_store->local;
    m_store->source = std::make_unique<remote::FetchThroughSource>(local, std::move(ups));
    m_store->resolver = store::Resolver();
    m_store->resolver.add_source(m_store->source.get());
    trace("remote " + m_remote_name + " store=" + t.url + " (" + t.how + ")");
    return {};
  }();
  return *m_remote_status;
}

// The repository path whose LFS pointer in HEAD names `oid`, for
// base resolution; empty if none.
std::string Agent::repo_path_of(const std::string& oid) {
  if (!m_paths) {
    m_paths.emplace();
    auto blobs = ls_tree("HEAD");
    for (const auto& b : blobs ? *blobs : std::vector<TreeBlob>()) {
      if (b.size >= 1024) {
        continue;  // LFS pointers are small
      }
      auto text = m_repo->blob_by_id(b.hex, 1024);
      if (auto p = text && *text ? parse_lfs_pointer(**text) : std::nullopt) {
        m_paths->emplace(p->oid, b.path);
      }
    }
  }
  auto it = m_paths->find(oid);
  return it == m_paths->end() ? "" : it->second;
}

bool is_safetensors(const std::string& path) {
  auto fd = open_read(path);
  if (!fd) {
    return false;
  }
  uint8_t head[9];
  auto size = file_size(fd->get(), path);
  return size && read_exact_at(fd->get(), 0, std::span<uint8_t>(head, 9), path) &&
         format::looks_like_safetensors(ByteView(head, 9), *size);
}

Result<format::Manifest> Agent::ingest(const std::string& oid, const std::string& path,
                                       uint64_t size) {
  // An earlier upload (or the base of one) may have ingested it already.
  std::string cache = m_store->local->root() + "/lfs/" + oid;
  if (auto bytes = read_whole_file(cache, format::k_max_manifest_size)) {
    auto m = format::parse_manifest(std::string(bytes->begin(), bytes->end()));
    if (m && m->size == size) {
      bool all = true;
      for (const auto& id : format::object_ids(*m)) {
        all = all && m_store->local->contains(id);
      }
      if (all) {
        return std::move(*m);
      }
    }
  }
  std::string repo_path = repo_path_of(oid);
  BaseChoice choice;
  if (is_safetensors(path)) {
    if (!m_chooser) {
      m_chooser.emplace(*m_repo, *m_store, m_pool);
    }
    choice = TRY_CTX(m_chooser->choose(repo_path, path),
                     "base model of " + (repo_path.empty() ? oid : repo_path));
  }
  const std::optional<ResolvedBase>& base = choice.base;
  trace("ingest " + (repo_path.empty() ? oid : repo_path) +
        (base ? " against " + base->origin : " without a base"));
  ops::IngestOptions opts;
  opts.allow_generic = true;  // other LFS files: compressed generic parts
  // Ingest is the first half of an upload's work.
  opts.on_progress = [&](uint64_t done) {
    std::lock_guard lock(m_progress);
    progress(oid, done / 2);
  };
  auto m = ops::ingest_file(path, base ? &base->model : nullptr, m_store->resolver, *m_store->local,
                            m_pool, opts, nullptr);
  if (!m) {
    return std::move(m).error().context(repo_path.empty() ? oid : repo_path);
  }
  if (Sha256::hex(m->sha256) != oid) {
    return make_error(Errc::Corrupt, path + " does not hash to its LFS oid " + oid);
  }
  if (m_chooser) {
    m_chooser->remember(repo_path, *m, path);
    record_choice(*m_store, *m, choice);
  }
  keep_manifest(oid, format::serialize_manifest(*m));
  return std::move(*m);
}

void Agent::keep_manifest(const std::string& oid, const std::string& text) {
  // Best effort: a cache (and the base finder's view of what the door holds).
  if (make_dirs(m_store->local->root() + "/lfs")) {
    if (auto f =
            AtomicFile::create(m_store->local->root() + "/lfs/" + oid, 0644, /*durable=*/false)) {
      if (f->write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()),
                                            text.size()))) {
        (void)f->commit();
      }
    }
  }
  if (auto m = format::parse_manifest(text)) {
    ops::ModelIndex(m_store->local->root()).add(*m);
  }
}

Status Agent::upload(const std::string& oid, uint64_t size, const std::string& path) {
  std::string key = remote::RemoteStore::lfs_key(oid);
  bool there = false;
  TRY_STATUS(remote::with_retry(remote::default_transfer_options(""), [&]() -> Status {
    there = TRY(m_remote->has(key));
    return {};
  }));
  if (there) {
    trace("upload " + oid + ": already on the remote");
    progress(oid, size, true);
    return {};
  }
  auto m = TRY(ingest(oid, path, size));
  // Then the objects, then the manifest: the remote never names missing data.
  auto ids = TRY(needed_objects(*m_store, {m}));
  auto st = TRY(remote::upload_objects(*m_store->local, *m_remote, ids,
                                       remote::default_transfer_options("")));
  trace("upload " + oid + ": " + std::to_string(st.objects) + " object(s) sent, " +
        std::to_string(st.present) + " already there");
  std::string text = format::serialize_manifest(m);
  TempFile tmp = TRY(TempFile::create(m_store->local->root() + "/tmp", "lfs-manifest"));
  TRY_STATUS(write_all(
      tmp.fd(),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
      tmp.path()));
  TRY_STATUS(publish_models(*m_remote, {m}, /*in_lfs=*/true));
  TRY_STATUS(remote::with_retry(remote::default_transfer_options(""),
                                [&] { return m_remote->put(key, tmp.fd(), 0, text.size(), {}); }));
  progress(oid, size, true);
  return {};
}

Result<std::string> Agent::download(const std::string& oid, uint64_t size) {
  std::string tmp_dir = m_repo->common_dir() + "/lfs/tmp";
  TRY_STATUS(make_dirs(tmp_dir));
  std::string key = remote::RemoteStore::lfs_key(oid);
  TempFile got = TRY(TempFile::create(tmp_dir, "zipllm-" + oid.substr(0, 16) + "-"));
  uint64_t received = 0;
  TRY_STATUS(remote::with_retry(remote::default_transfer_options(""), [&]() -> Status {
    TRY_STATUS(truncate_to_start(got.fd(), got.path()));
    received = 0;
    return m_remote->get(key, got.fd(), got.path(), [&](uint64_t n) { received += n; });
  }));
  uint64_t have = TRY(file_size(got.fd(), got.path()));
  std::vector<uint8_t> head(std::min<uint64_t>(have, format::k_manifest_magic.size()));
  TRY_STATUS(read_exact_at(got.fd(), 0, head, got.path()));
  std::string out = tmp_dir + "/zipllm-" + oid;
  if (!format::looks_like_manifest(head)) {
    // Stored as is.
    TRY_STATUS(
        accept_whole(got, oid, size, m_remote->url() + " (corrupt in the remote store)", out));
    return out;
  }
  auto text = TRY(read_whole_file(got.path(), format::k_max_manifest_size));
  auto m = format::parse_manifest(std::string(text.begin(), text.end()));
  if (!m) {
    return std::move(m).error().context("manifest of " + oid + " in " + m_remote->url());
  }
  if (Sha256::hex(m->sha256) != oid || m->size != size) {
    return make_error(Errc::Corrupt, "the manifest stored for " + oid + " in " + m_remote->url() +
                                         " describes another file");
  }
  progress(oid, 1, true);
  auto st = TRY(prefetch(*m_store, {*m}, remote::default_transfer_options("")));
  if (!st.missing.empty()) {
    return make_error(Errc::NotFound, "object " + st.missing[0].hex() + " of " + oid +
                                          " is not in " + m_remote->url());
  }
  ops::RestoreOptions opts;
  opts.on_progress = [&](uint64_t done) {
    std::lock_guard lock(m_progress);
    progress(oid, done);
  };
  TRY_STATUS(ops::restore_file(*m, m_store->resolver, out, m_pool, opts));
  // Its objects are local now: the next upload of this oid is free, and
  // files pushed later can be coded against it (git-lfs keeps the file in
  // .git/lfs/objects, where the base finder reads it).
  keep_manifest(oid, std::string(text.begin(), text.end()));
  return out;
}

Status Agent::accept_whole(TempFile& got, const std::string& oid, uint64_t size,
                           const std::string& from, const std::string& out) {
  // Checked before git-lfs sees it (it re-hashes too).
  uint64_t have = TRY(file_size(got.fd(), got.path()));
  Sha256 sha;
  std::vector<uint8_t> buf(1 << 20);
  for (uint64_t off = 0; off < have; off += buf.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), have - off));
    TRY_STATUS(read_exact_at(got.fd(), off, std::span<uint8_t>(buf.data(), n), got.path()));
    sha.update(std::span<const uint8_t>(buf.data(), n));
  }
  if (Sha256::hex(sha.finish()) != oid || have != size) {
    return make_error(Errc::Corrupt, "object " + oid + " from " + from + " does not match its oid");
  }
  if (::rename(got.path().c_str(), out.c_str()) != 0) {
    return os_error("cannot rename to", out, errno);
  }
  return {};
}

Status Agent::hub_upload(const LfsMessage& msg) {
  remote::HubObject hub(*msg.href, msg.headers);
  auto opts = hub_transfer_options();
  opts.jobs = std::min(opts.jobs, 4);  // the hub bounds uploads in flight
  auto m = TRY(ingest(msg.oid, msg.path, msg.size));
  // Only what the hub lacks, then the manifest, which the hub accepts once
  // the objects rebuild the file.
  auto ids = TRY(needed_objects(*m_store, {m}));
  std::vector<ObjectId> want;
  TRY_STATUS(remote::with_retry(opts, [&]() -> Status {
    want = TRY(hub.missing(ids));
    return {};
  }));
  auto st = TRY(remote::upload_objects(*m_store->local, hub, want, opts));
  trace("upload " + msg.oid + " to the hub: " + std::to_string(st.objects) + " of " +
        std::to_string(ids.size()) + " object(s) sent (" + std::to_string(st.bytes) + " bytes)");
  std::string text = format::serialize_manifest(m);
  TRY_STATUS(remote::with_retry(opts, [&] { return hub.commit(text); }));
  progress(msg.oid, msg.size, true);
  return {};
}

Result<std::string> Agent::hub_download(const LfsMessage& msg) {
  const std::string& oid = msg.oid;
  remote::HubObject hub(*msg.href, msg.headers);
  auto opts = hub_transfer_options();
  std::string tmp_dir = m_repo->common_dir() + "/lfs/tmp";
  TRY_STATUS(make_dirs(tmp_dir));
  std::string out = tmp_dir + "/zipllm-" + oid;
  std::optional<std::string> text;
  TRY_STATUS(remote::with_retry(opts, [&]() -> Status {
    text = TRY(hub.manifest());
    return {};
  }));
  if (!text) {
    // The hub holds it as uploaded (not stored yet): the whole file.
    TempFile got = TRY(TempFile::create(tmp_dir, "zipllm-" + oid.substr(0, 16) + "-"));
    TRY_STATUS(remote::with_retry(opts, [&]() -> Status {
      TRY_STATUS(truncate_to_start(got.fd(), got.path()));
      return hub.get_whole(got.fd(), got.path(), [&](uint64_t) {});
    }));
    TRY_STATUS(accept_whole(got, oid, msg.size, hub.url(), out));
    trace("download " + oid + " from the hub: the whole file");
    return out;
  }
  auto m = format::parse_manifest(*text);
  if (!m) {
    return std::move(m).error().context("manifest of " + oid + " from " + hub.url());
  }
  if (Sha256::hex(m->sha256) != oid || m->size != msg.size) {
    return make_error(Errc::Corrupt, "the hub's manifest for " + oid + " describes another file (" +
                                         hub.url() + ")");
  }
  progress(oid, 1, true);
  // Only the objects this store lacks (a base model already here costs
  // nothing), verified as they arrive; then restored here.
  auto st = TRY(remote::download_closure(hub, *m_store->local, format::object_ids(*m), opts));
  trace("download " + oid + " from the hub: " + std::to_string(st.objects) + " object(s), " +
        std::to_string(st.bytes) + " bytes; " + std::to_string(st.present) + " already here");
  ops::RestoreOptions ro;
  ro.on_progress = [&](uint64_t done) {
    std::lock_guard lock(m_progress);
    progress(oid, done);
  };
  auto t0 = std::chrono::steady_clock::now();
  TRY_STATUS(ops::restore_file(*m, m_store->resolver, out, m_pool, ro));
  trace("download " + oid + ": restored in " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - t0)
                           .count()) +
        " ms");
  keep_manifest(oid, *text);
  return out;
}

int Agent::run() {
  std::string line;
  while (std::getline(std::cin, line)) {
    auto parsed = parse_lfs_message(line);
    if (!parsed) {
      // Not a message git-lfs would send: answer with an error and keep
      // serving. With an oid to name, as that transfer's completion.
      std::string why = parsed.error().message;
      trace(why);
      json j = json::parse(line, nullptr, false);
      std::string oid;
      if (j.is_object() && j.contains("oid") && j["oid"].is_string()) {
        oid = j["oid"].get<std::string>();
      }
      if (!oid.empty()) {
        send({{"event", "complete"},
              {"oid", oid},
              {"error", {{"code", 400}, {"message", "git-zipllm: " + why}}}});
      } else {
        send({{"error", {{"code", 400}, {"message", "git-zipllm: " + why}}}});
      }
      continue;
    }
    const LfsMessage& msg = *parsed;
    if (msg.event == LfsMessage::Event::Init) {
      Status s = init(msg);
      if (!s) {
        send({{"error", {{"code", 32}, {"message", "git-zipllm: " + redact(s.error().message)}}}});
      } else {
        send(json::object());
      }
      continue;
    }
    if (msg.event == LfsMessage::Event::Terminate) {
      return 0;
    }
    if (msg.event == LfsMessage::Event::Unknown) {
      continue;  // unknown events are ignored
    }
    m_reported = 0;
    m_last_report = {};
    json done = {{"event", "complete"}, {"oid", msg.oid}};
    Status s;
    if (!m_store) {
      s = make_error(Errc::InvalidArgument, "transfer before a successful init");
    } else if (msg.href) {
      // A batch action: git-lfs negotiated the zipllm adapter with a hub.
      if (msg.event == LfsMessage::Event::Upload) {
        progress(msg.oid, 0, true);
        s = hub_upload(msg);
      } else if (auto p = hub_download(msg)) {
        done["path"] = *p;
      } else {
        s = p.error();
      }
    } else if (s = open_remote(); !s) {
      // The standalone door has no store to use.
    } else if (msg.event == LfsMessage::Event::Upload) {
      progress(msg.oid, 0, true);
      s = upload(msg.oid, msg.size, msg.path);
    } else {
      auto p = download(msg.oid, msg.size);
      if (p) {
        done["path"] = *p;
      } else {
        s = p.error();
      }
    }
    if (!s) {
      trace(msg.event_name + " " + msg.oid + " failed: " + s.error().message);
      int code = s.error().code == Errc::NotFound          ? 404
                 : s.error().code == Errc::InvalidArgument ? 400
                                                           : 500;
      done["error"] = {{"code", code}, {"message", "git-zipllm: " + redact(s.error().message)}};
    }
    send(done);
  }
  return 0;
}

}  // namespace

int run_lfs_agent(ThreadPool& pool) {
  Agent agent(pool);
  return agent.run();
}

}  // namespace zipllm::git
