#include "git/model_store.h"

#include <charconv>
#include <set>

#include "format/manifest.h"
#include "git/settings.h"
#include "ops/model_index.h"

namespace zipllm::git {

namespace {

Result<std::unique_ptr<ModelStore>> open_with(Repo& repo, bool upstreams_too,
                                              const std::string& path) {
  auto ms = std::make_unique<ModelStore>();
  ms->local = TRY(store::LocalStore::open(path));
  std::vector<std::unique_ptr<remote::RemoteStore>> upstreams;
  std::set<std::string> seen{path};
  if (upstreams_too) {
    Settings settings = Settings::load(repo);
    auto t = resolve_remote_store(repo, settings, "");
    if (t) {
      tell_once(t->note);
      ms->resolver.set_missing_hint(missing_objects_hint(*t));
    } else if (std::string hint = trust_hint(settings); !hint.empty()) {
      tell_once(hint);
    }
    if (t && !seen.count(t->url)) {
      // A misconfigured remote must not stop local work: it fails later,
      // with its message, only if an object is actually missing.
      if (auto r = remote::open_remote(t->url, settings.s3())) {
        seen.insert(t->url);
        upstreams.push_back(std::move(*r));
      }
    }
    for (const auto& remote : repo.local_remote_paths()) {
      auto other = Repo::open_at(remote);
      if (!other) {
        continue;
      }
      std::string up = other->store_path();
      if (!seen.count(up) && path_exists(up + "/objects")) {
        if (auto r = remote::open_remote(up, {})) {
          seen.insert(up);
          upstreams.push_back(std::move(*r));
        }
      }
    }
  }
  ms->source = std::make_unique<remote::FetchThroughSource>(*ms->local, std::move(upstreams));
  ms->resolver.add_source(ms->source.get());
  return ms;
}

}  // namespace

Result<std::unique_ptr<ModelStore>> ModelStore::open(Repo& repo) {
  return open_with(repo, true, local_store_root(repo));
}

Result<std::unique_ptr<ModelStore>> ModelStore::open_local(Repo& repo) {
  return open_with(repo, false, local_store_root(repo));
}

Result<std::unique_ptr<ModelStore>> ModelStore::open_scratch(Repo& repo, const std::string& root) {
  return open_with(repo, false, root);
}

namespace {

std::string clean_cache_path(const ModelStore& store, const ObjectId& id) {
  return store.local->root() + "/cache/clean/" + id.hex();
}

}  // namespace

std::string local_store_root(Repo& repo) {
  return repo.config_string("zipllm.storepath").value_or(repo.store_path());
}

std::optional<LfsPointer> parse_lfs_pointer(std::string_view text) {
  // version https://git-lfs.github.com/spec/v1 / oid sha256:<64 hex> / size <n>
  if (text.size() > 1024 || text.rfind("version https://git-lfs.github.com/spec/v1\n", 0) != 0) {
    return std::nullopt;
  }
  size_t at = text.find("\noid sha256:");
  size_t sz = text.find("\nsize ");
  if (at == std::string_view::npos || sz == std::string_view::npos || text.size() < at + 13 + 64) {
    return std::nullopt;
  }
  LfsPointer p;
  p.oid = std::string(text.substr(at + 12, 64));
  if (!Sha256::from_hex(p.oid)) {
    return std::nullopt;
  }
  std::string_view digits = text.substr(sz + 6);
  digits = digits.substr(0, digits.find('\n'));
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), p.size);
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return p;
}

std::optional<format::Manifest> lfs_door_manifest(Repo& repo, const std::string& oid) {
  if (!Sha256::from_hex(oid)) {
    return std::nullopt;
  }
  auto m = manifest_file(local_store_root(repo) + "/lfs/" + oid);
  if (m && Sha256::hex(m->sha256) != oid) {
    return std::nullopt;
  }
  return m;
}

std::optional<format::Manifest> manifest_file(const std::string& path) {
  auto bytes = read_whole_file(path, format::k_max_manifest_size);
  if (!bytes) {
    return std::nullopt;
  }
  auto m = format::parse_manifest(std::string(bytes->begin(), bytes->end()));
  return m ? std::make_optional(std::move(*m)) : std::nullopt;
}

std::optional<std::string> clean_cache_lookup(const ModelStore& store, const ObjectId& id,
                                              uint64_t size) {
  auto bytes = read_whole_file(clean_cache_path(store, id), format::k_max_manifest_size);
  if (!bytes) {
    return std::nullopt;
  }
  std::string text(bytes->begin(), bytes->end());
  auto m = format::parse_manifest(text);
  if (!m || m->size != size) {
    return std::nullopt;
  }
  for (const auto& oid : format::object_ids(*m)) {
    if (!store.resolver.contains(oid)) {
      return std::nullopt;
    }
  }
  // About to be committed again: keep prune's grace period from running out.
  for (const auto& oid : format::object_ids(*m)) {
    store.local->freshen(oid);
  }
  return text;
}

void clean_cache_store(const ModelStore& store, const ObjectId& id, const std::string& text) {
  if (!make_dirs(store.local->root() + "/cache/clean")) {
    return;
  }
  auto f = AtomicFile::create(clean_cache_path(store, id), 0644);
  if (f && f->write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()),
                                             text.size()))) {
    (void)f->commit();  // a cache: failing to keep it loses nothing
  }
  // The base finder's view of what this store holds.
  if (auto m = format::parse_manifest(text)) {
    ops::ModelIndex(store.local->root()).add(*m);
  }
}

}  // namespace zipllm::git
