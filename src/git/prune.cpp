#include "git/prune.h"

#include <unordered_set>

#include "git/base_registry.h"
#include "git/sync.h"
#include "util/file.h"

namespace zipllm::git {

namespace {

// The LFS door keeps the manifest of each LFS object it stored.
std::vector<format::Manifest> lfs_door_manifests(const ModelStore& store) {
  std::vector<format::Manifest> out;
  for (const auto& path : list_files_recursive(store.local->root() + "/lfs")) {
    auto text = read_whole_file(path, format::k_max_manifest_size);
    if (!text) {
      continue;
    }
    if (auto m = format::parse_manifest(std::string(text->begin(), text->end()))) {
      out.push_back(std::move(*m));
    }
  }
  return out;
}

}  // namespace

Result<std::vector<format::Manifest>> reachable_manifests(Repo& repo, const ModelStore& store) {
  auto manifests = TRY(manifests_in_history(repo, {"--all", "--reflog", "--indexed-objects"}));
  for (const auto& name : list_bases(store)) {
    auto base = TRY(load_base(store, name));
    if (base) {
      for (auto& [file, m] : base->shards) {
        manifests.push_back(std::move(m));
      }
    }
  }
  for (auto& m : lfs_door_manifests(store)) {
    manifests.push_back(std::move(m));
  }
  return manifests;
}

Result<PruneReport> prune_local(Repo& repo, ModelStore& store, const PruneOptions& opts) {
  PruneReport rep;
  // The cutoff is taken before anything is listed: an object written after
  // this point is younger than it whatever happens next.
  const auto cutoff = std::chrono::system_clock::now() - opts.grace;
  auto manifests = TRY(reachable_manifests(repo, store));
  rep.manifests = manifests.size();
  std::vector<ObjectId> missing;
  auto closure = remote::object_closure(*store.local, distinct_object_ids(manifests), &missing);
  if (!closure) {
    return std::move(closure).error().context(
        "not pruning: an object that is needed cannot be read, so the delta bases it needs are "
        "unknown (run `git zipllm verify --repair` first)");
  }
  rep.needed = closure->size();
  rep.not_local = missing.size();
  std::unordered_set<ObjectId, ObjectIdHash> keep(closure->begin(), closure->end());
  rep.stats = TRY(store.local->prune([&](const ObjectId& id) { return keep.count(id) > 0; }, cutoff,
                                     opts.dry_run));
  return rep;
}

}  // namespace zipllm::git
