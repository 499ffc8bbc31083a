// The zipllm transfer adapter (docs/HUB.md): which objects a git-zipllm
// client must send, objects staged per file and repository, a manifest
// accepted only once the file rebuilds from them, and downloads of a
// file's objects.
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "hub/responses.h"
#include "hub/service.h"
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

// Objects a zipllm client may ask about at once (a file's closure).
constexpr size_t k_max_closure = 1 << 20;

}  // namespace

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
  auto slot = m_uploads->acquire();
  if (!slot.ok()) {
    return too_busy(m_stopping);
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

}  // namespace zipllm::hub
