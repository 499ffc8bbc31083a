#include "git/base_resolution.h"

#include <git2.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <set>

#include "git/base_registry.h"
#include "git/hf_cache.h"
#include "git/settings.h"
#include "ops/ingest.h"

namespace zipllm::git {

namespace {

Result<std::optional<format::Manifest>> manifest_at(Repo& repo, const std::string& spec) {
  auto text = TRY(repo.blob(spec, format::k_max_manifest_size));
  if (!text) {
    return std::optional<format::Manifest>();
  }
  auto m = format::parse_manifest(*text);
  if (!m) {
    // An LFS pointer whose object went through the LFS door: its manifest.
    if (auto p = parse_lfs_pointer(*text)) {
      return lfs_door_manifest(repo, p->oid);
    }
    return std::optional<format::Manifest>();  // not a manifest (committed before the filter)
  }
  return std::optional<format::Manifest>(std::move(*m));
}

std::string normalize(std::string p) {
  while (p.rfind("./", 0) == 0) {
    p = p.substr(2);
  }
  while (p.size() > 1 && p.back() == '/') {
    p.pop_back();
  }
  return p;
}

// A base file not committed or staged yet (added in the same `git add` as
// its fine-tunes): ingest it from the work tree now. The manifest is the one
// git will store for it, and its objects are then already in the store.
// The base's own base is resolved the same way, so the objects come out as
// git's clean of that file will want them.
Result<std::optional<ResolvedBase>> resolve_at_depth(Repo& repo, ModelStore& store,
                                                     ThreadPool& pool, const std::string& path,
                                                     int depth, bool declared_only = false);

Result<std::optional<format::Manifest>> from_work_tree(Repo& repo, ModelStore& store,
                                                       ThreadPool& pool, const std::string& p,
                                                       int depth) {
  auto wd = repo.workdir();
  if (!wd || !path_exists(*wd + "/" + p) || depth > 4) {
    return std::optional<format::Manifest>();
  }
  // Read only what is really in the work tree: never through a symbolic
  // link (a committed link could point anywhere, and ingested base objects
  // are pushed with everything else).
  std::string at = *wd;
  for (size_t pos = 0; pos <= p.size();) {
    size_t slash = p.find('/', pos);
    at += "/" + p.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    struct stat st;
    if (::lstat(at.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) {
      return make_error(Errc::InvalidArgument,
                        "base " + p + ": " + at.substr(wd->size() + 1) +
                            " is a symbolic link; a base must be a file in the work tree");
    }
    if (slash == std::string::npos) {
      break;
    }
    pos = slash + 1;
  }
  auto own = TRY(resolve_at_depth(repo, store, pool, p, depth + 1));
  auto m = ops::ingest_file(*wd + "/" + p, own ? &own->model : nullptr, store.resolver,
                            *store.local, pool, ops::IngestOptions{}, nullptr);
  if (!m) {
    return std::move(m).error().context("base " + p);
  }
  return std::optional<format::Manifest>(std::move(*m));
}

// A path from a committed file (an attribute, .zipllmconfig): it must name
// something inside the work tree, as written (no absolute path, no "..").
Status check_committed_path(const std::string& p, const std::string& origin) {
  bool escapes = p.empty() || p[0] == '/' || p == ".." || p.rfind("../", 0) == 0 ||
                 p.find("/../") != std::string::npos ||
                 (p.size() >= 3 && p.compare(p.size() - 3, 3, "/..") == 0);
  if (escapes) {
    return make_error(
        Errc::InvalidArgument,
        origin + ": a base named by a committed file must be a path inside the repository; '" + p +
            "' is not (register bases elsewhere with `git zipllm base add NAME FILE`)");
  }
  return {};
}

// The safetensors files under work tree folder `dir` that the filter
// tracks (by attribute), without following symbolic links, sorted.
Result<std::vector<std::string>> untracked_shards(Repo& repo, const std::string& dir,
                                                  const std::string& self) {
  std::vector<std::string> out;
  auto wd = repo.workdir();
  if (!wd || !is_plain_dir(*wd + "/" + dir)) {
    return out;
  }
  for (const auto& f : list_files_recursive(*wd + "/" + dir)) {
    std::string rel = f.substr(wd->size() + 1);
    if (rel == self || rel.size() <= 12 || rel.compare(rel.size() - 12, 12, ".safetensors") != 0 ||
        !is_plain_file(f)) {
      continue;
    }
    auto filter = TRY(repo.attribute(rel, "filter"));
    if (filter && *filter == "zipllm") {
      out.push_back(rel);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A declared base path: a tracked file, or a folder of tracked shards.
Result<std::optional<ResolvedBase>> base_from_path(Repo& repo, ModelStore& store, ThreadPool& pool,
                                                   const std::string& self,
                                                   const std::string& declared,
                                                   const std::string& origin, int depth) {
  std::string p = normalize(declared);
  TRY_STATUS(check_committed_path(p, origin));
  ResolvedBase rb;
  rb.origin = origin;
  if (p == self) {
    return std::optional<ResolvedBase>();
  }
  auto single = TRY(stored_manifest(repo, p));
  if (!single && p.size() > 12 && p.compare(p.size() - 12, 12, ".safetensors") == 0) {
    single = TRY(from_work_tree(repo, store, pool, p, depth));
  }
  if (single) {
    TRY_STATUS(rb.model.add_manifest(*single, p));
    return std::optional<ResolvedBase>(std::move(rb));
  }
  auto tracked = TRY(repo.tracked_paths());
  size_t shards = 0;
  for (const auto& t : tracked) {
    if (t.rfind(p + "/", 0) == 0 && t != self && t.size() > 12 &&
        t.compare(t.size() - 12, 12, ".safetensors") == 0) {
      auto m = TRY(stored_manifest(repo, t));
      if (m) {
        TRY_STATUS(rb.model.add_manifest(*m, t));
        ++shards;
      }
    }
  }
  if (shards == 0) {
    // Shards not staged yet (added in the same `git add` as the fine-tune):
    // the folder's tracked safetensors files in the work tree.
    for (const auto& t : TRY(untracked_shards(repo, p, self))) {
      if (auto m = TRY(from_work_tree(repo, store, pool, t, depth))) {
        TRY_STATUS(rb.model.add_manifest(*m, t));
        ++shards;
      }
    }
  }
  if (shards == 0) {
    return make_error(Errc::NotFound, origin + ": no model at '" + p + "'");
  }
  return std::optional<ResolvedBase>(std::move(rb));
}

Result<std::optional<ResolvedBase>> registered(const ModelStore& store, const std::string& name,
                                               const std::string& origin) {
  auto rb = TRY(load_base(store, name));
  if (!rb) {
    return std::optional<ResolvedBase>();
  }
  ResolvedBase out;
  out.origin = origin;
  for (const auto& [shard, m] : rb->shards) {
    TRY_STATUS(out.model.add_manifest(m, name + "/" + shard));
  }
  return std::optional<ResolvedBase>(std::move(out));
}

// A card's base found only in the Hugging Face cache: stored as a
// registered base of that name (once), so the deltas against it can be
// decoded anywhere the store goes (its objects are pushed with the models
// coded against it, as any base's). `zipllm.hfcache = false` turns the
// lookup off.
Result<std::optional<ResolvedBase>> from_hf_cache(Repo& repo, ModelStore& store, ThreadPool& pool,
                                                  const std::string& name,
                                                  const std::string& origin) {
  if (!valid_base_name(name) || Settings::load(repo).get("zipllm.hfcache") == "false") {
    return std::optional<ResolvedBase>();
  }
  auto hf = TRY_CTX(hf_cached_model(name), origin);
  if (!hf) {
    return std::optional<ResolvedBase>();
  }
  std::fprintf(stderr,
               "git-zipllm: %s: storing base %s from the Hugging Face cache (%s); it travels with "
               "the models coded against it\n",
               origin.c_str(), name.c_str(), hf->snapshot.c_str());
  TRY_STATUS_CTX(register_base(store, name, hf->files, pool), origin);
  return registered(store, name, origin + " (from the Hugging Face cache)");
}

// Rule 3: the nearest model card, README.md beside the file, else in each
// parent folder up to the root, that names a base_model. A name that is
// neither registered nor in the Hugging Face cache is reported (once per
// card and process), never an error: the base finder still runs.
Result<std::optional<ResolvedBase>> card_base(Repo& repo, ModelStore& store, ThreadPool& pool,
                                              const std::string& path) {
  auto wd = repo.workdir();
  if (!wd) {
    return std::optional<ResolvedBase>();
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  for (;;) {
    std::string rel = (dir.empty() ? "" : dir + "/") + "README.md";
    std::string card = *wd + "/" + rel;
    auto text = is_plain_file(card) ? read_whole_file(card, 1 << 20)
                                    : Result<std::vector<uint8_t>>(make_error(Errc::NotFound, ""));
    std::string card_text = text ? std::string(text->begin(), text->end()) : "";
    auto names = model_card_bases(card_text);
    if (std::string how = model_card_relation(card_text); how == "adapter" || how == "quantized") {
      return std::optional<ResolvedBase>();  // not a delta base: the finder chooses
    }
    if (!names.empty()) {
      for (const auto& name : names) {
        std::string origin = "model card " + rel + " base_model: " + name;
        if (auto rb = TRY(registered(store, name, origin))) {
          return rb;
        }
        if (auto rb = TRY(from_hf_cache(repo, store, pool, name, origin))) {
          return rb;
        }
      }
      static std::mutex mutex;
      static std::set<std::string> warned;
      std::lock_guard lock(mutex);
      if (warned.insert(rel).second) {
        std::fprintf(stderr,
                     "git-zipllm: warning: %s names base_model %s, which is neither a registered "
                     "base nor in the Hugging Face cache (%s); register it with `git zipllm base "
                     "add %s FILE...` (the base finder chooses meanwhile)\n",
                     rel.c_str(), names.front().c_str(), hf_hub_cache().c_str(),
                     names.front().c_str());
      }
      return std::optional<ResolvedBase>();
    }
    if (dir.empty()) {
      return std::optional<ResolvedBase>();
    }
    dir = std::filesystem::path(dir).parent_path().string();
  }
}

// A base declared by name (an attribute, .zipllmconfig): a registered base,
// else a path in the repository, else a model in the Hugging Face cache.
Result<std::optional<ResolvedBase>> named_base(Repo& repo, ModelStore& store, ThreadPool& pool,
                                               const std::string& self, const std::string& name,
                                               const std::string& origin, int depth) {
  if (auto rb = TRY(registered(store, name, origin))) {
    return rb;
  }
  auto rb = base_from_path(repo, store, pool, self, name, origin, depth);
  if (rb || rb.error().code != Errc::NotFound) {
    return rb;
  }
  if (auto hf = TRY(from_hf_cache(repo, store, pool, name, origin))) {
    return hf;
  }
  return make_error(Errc::NotFound, rb.error().message +
                                        ", no registered base of that name (`git zipllm base " +
                                        "list`), and no such model in the Hugging Face cache (" +
                                        hf_hub_cache() + ")");
}

std::optional<std::string> zipllmconfig_base(Repo& repo) {
  return Settings::load(repo).committed("zipllm.base");
}

}  // namespace

Result<std::optional<format::Manifest>> index_manifest(Repo& repo, const std::string& path) {
  auto text = TRY(repo.blob(":" + path, format::k_max_manifest_size));
  if (!text) {
    return std::optional<format::Manifest>();
  }
  if (!format::looks_like_manifest(
          ByteView(reinterpret_cast<const uint8_t*>(text->data()), text->size()))) {
    // An LFS pointer whose object went through the LFS door: its manifest.
    auto p = parse_lfs_pointer(*text);
    return p ? lfs_door_manifest(repo, p->oid) : std::optional<format::Manifest>();
  }
  auto m = format::parse_manifest(*text);
  if (!m) {
    return make_error(Errc::Corrupt, path + ": the manifest in the index is damaged (" +
                                         m.error().message + "); `git checkout HEAD -- " + path +
                                         "` or `git rm --cached` it");
  }
  return std::optional<format::Manifest>(std::move(*m));
}

Result<std::optional<format::Manifest>> stored_manifest(Repo& repo, const std::string& path,
                                                        bool index_first) {
  if (index_first) {
    auto m = TRY(manifest_at(repo, ":" + path));
    if (m) {
      return m;
    }
  }
  return manifest_at(repo, "HEAD:" + path);
}

Result<std::optional<ResolvedBase>> resolve_base(Repo& repo, ModelStore& store, ThreadPool& pool,
                                                 const std::string& path) {
  import_committed_bases(repo, store);
  return resolve_at_depth(repo, store, pool, path, 0);
}

namespace {

Result<std::optional<ResolvedBase>> resolve_at_depth(Repo& repo, ModelStore& store,
                                                     ThreadPool& pool, const std::string& path,
                                                     int depth, bool declared_only) {
  auto attr = TRY(repo.attribute(path, "zipllm-base"));
  if (attr && *attr != "true" && *attr != "false") {
    return named_base(repo, store, pool, path, *attr, "attribute zipllm-base=" + *attr, depth);
  }
  if (auto cfg = zipllmconfig_base(repo)) {
    auto rb =
        TRY(named_base(repo, store, pool, path, *cfg, ".zipllmconfig zipllm.base=" + *cfg, depth));
    if (rb) {
      return rb;
    }
  }
  if (auto rb = TRY(card_base(repo, store, pool, path))) {
    return rb;
  }
  if (!declared_only) {
    return previous_version(repo, path);
  }
  return std::optional<ResolvedBase>();
}

}  // namespace

Result<std::optional<ResolvedBase>> resolve_declared_base(Repo& repo, ModelStore& store,
                                                          ThreadPool& pool,
                                                          const std::string& path) {
  import_committed_bases(repo, store);
  return resolve_at_depth(repo, store, pool, path, 0, true);
}

Result<std::optional<ResolvedBase>> previous_version(Repo& repo, const std::string& path) {
  auto prev = TRY(manifest_at(repo, "HEAD:" + path));
  if (!prev) {
    return std::optional<ResolvedBase>();
  }
  ResolvedBase rb;
  rb.origin = "previous version (HEAD:" + path + ")";
  TRY_STATUS(rb.model.add_manifest(*prev, "HEAD:" + path));
  return std::optional<ResolvedBase>(std::move(rb));
}

}  // namespace zipllm::git
