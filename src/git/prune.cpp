#include "git/prune.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <unordered_set>

#include "git/base_registry.h"
#include "git/git_command.h"
#include "git/settings.h"
#include "git/sync.h"
#include "util/file.h"

namespace zipllm::git {

namespace {

// The LFS door keeps the manifest of each LFS object it stored.
std::vector<format::Manifest> lfs_door_manifests(const ModelStore& store) {
  std::vector<format::Manifest> out;
  for (const auto& path : list_files_recursive(store.local->root() + "/lfs")) {
    if (auto m = manifest_file(path)) {
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

namespace {

// The signature index (ops/model_index.h) names models whose objects prune
// just deleted: the base finder would skip them, but they would cost it a
// check on every clean. Their models/ entries go; the markers stay (a
// lookup ignores markers without a model).
void forget_pruned_models(const ModelStore& store) {
  for (const auto& entry : list_dir(store.local->root() + "/models")) {
    auto m = manifest_file(entry);
    if (m && !std::all_of(m->tensors.begin(), m->tensors.end(),
                          [&](const auto& t) { return store.local->contains(t.id); })) {
      ::unlink(entry.c_str());
    }
  }
}

// The LFS objects the checked-out files point at (index and HEAD).
Result<std::unordered_set<std::string>> checked_out_lfs_oids(Repo& repo) {
  std::unordered_set<std::string> out;
  for (const auto& path : TRY(repo.lfs_paths())) {
    for (const std::string& spec : {":" + path, "HEAD:" + path}) {
      auto text = TRY(repo.blob(spec, 1024));
      if (text) {
        if (auto p = parse_lfs_pointer(*text)) {
          out.insert(p->oid);
        }
      }
    }
  }
  return out;
}

Status prune_lfs_copies(Repo& repo, const ModelStore& store,
                        std::chrono::system_clock::time_point cutoff, bool dry_run,
                        PruneReport& rep) {
  std::string dir = repo.common_dir() + "/lfs/objects";
  if (!is_plain_dir(dir)) {
    return {};
  }
  auto keep = TRY(checked_out_lfs_oids(repo));
  for (const auto& path : list_files_recursive(dir)) {
    std::string oid = path.substr(path.rfind('/') + 1);
    if (!Sha256::from_hex(oid) ||
        path != dir + "/" + oid.substr(0, 2) + "/" + oid.substr(2, 2) + "/" + oid) {
      continue;  // not an object of git-lfs's layout
    }
    auto m = lfs_door_manifest(repo, oid);
    if (!m) {
      continue;  // the door does not hold it: git-lfs's only copy
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) != m->size) {
      continue;
    }
    if (keep.count(oid)) {
      ++rep.lfs_kept;
      continue;
    }
    auto mtime = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec);
    if (mtime > cutoff) {
      continue;
    }
    std::vector<ObjectId> missing;
    auto closure = store::object_closure(*store.local, format::object_ids(*m), &missing);
    if (!closure || !missing.empty()) {
      continue;  // the store could not give it back
    }
    if (!dry_run && ::unlink(path.c_str()) != 0) {
      return os_error("cannot delete", path, errno);
    }
    ++rep.lfs_copies;
    rep.lfs_copy_bytes += m->size;
  }
  return {};
}

}  // namespace

Result<PruneReport> prune_local(Repo& repo, ModelStore& store, const PruneOptions& opts) {
  PruneReport rep;
  // The cutoff is taken before anything is listed: an object written after
  // this point is younger than it whatever happens next.
  const auto cutoff = std::chrono::system_clock::now() - opts.grace;
  auto manifests = TRY(reachable_manifests(repo, store));
  rep.manifests = manifests.size();
  std::vector<ObjectId> missing;
  auto closure = store::object_closure(*store.local, distinct_object_ids(manifests), &missing);
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
  if (!opts.dry_run && rep.stats.objects > 0) {
    forget_pruned_models(store);
  }
  TRY_STATUS(prune_lfs_copies(repo, store, cutoff, opts.dry_run, rep));
  return rep;
}

Result<RemotePruneReport> prune_remote(Repo& repo, ModelStore& store,
                                       const RemotePruneOptions& opts) {
  RemotePruneReport rep;
  const auto cutoff = std::chrono::system_clock::now() - opts.grace;
  Settings settings = Settings::load(repo);
  RemoteTarget target;
  auto remote = TRY(open_remote_store(repo, settings, opts.remote, &target));
  rep.url = remote->url();
  std::string name = !target.remote.empty() ? target.remote : opts.remote;
  if (name.empty()) {
    name = repo.default_remote().value_or("origin");
  }
  // What the remote's refs point at now, all of it in this clone.
  auto listed = TRY(run_git({"ls-remote", "--", name}));
  if (listed.status != 0) {
    return make_error(Errc::Unavailable, "not pruning " + rep.url + ": `git ls-remote " + name +
                                             "` failed; the remote's refs decide what is needed");
  }
  std::vector<std::string> tips;
  std::string check;
  for (const auto& line : lines_of(listed.output)) {
    std::string sha = line.substr(0, line.find('\t'));
    if (sha.size() == 40 || sha.size() == 64) {
      tips.push_back(sha);
      check += sha + "\n";
    }
  }
  if (tips.empty()) {
    // Nothing would be needed, so everything would go: more likely a wrong
    // remote than an empty one on purpose.
    return make_error(Errc::InvalidArgument,
                      "not pruning " + rep.url + ": " + name +
                          " has no refs, so nothing would be kept; push first, or delete the store "
                          "by hand if that is what you want");
  }
  {
    auto have = TRY(run_git({"cat-file", "--batch-check"}, check));
    for (const auto& line : lines_of(have.output)) {
      if (line.find(" missing") != std::string::npos) {
        return make_error(Errc::InvalidArgument,
                          "not pruning " + rep.url + ": " + name +
                              " has commits this clone lacks (" + line.substr(0, line.find(' ')) +
                              "); `git fetch " + name +
                              "` first, so everything its refs need is known");
      }
    }
  }
  std::vector<format::Manifest> manifests;
  if (!tips.empty()) {
    manifests = TRY(manifests_in_history(repo, tips));
  }
  // The LFS door's manifests in that store.
  std::string tmp = store.local->root() + "/tmp";
  for (const auto& oid : TRY(remote->lfs_oids())) {
    TempFile t = TRY(TempFile::create(tmp, "lfs-manifest-"));
    TRY_STATUS_CTX(remote->get(remote::RemoteStore::lfs_key(oid), t.fd(), t.path(), nullptr),
                   "not pruning " + rep.url);
    auto text = TRY(read_whole_file(t.path(), format::k_max_manifest_size));
    auto m = format::parse_manifest(std::string(text.begin(), text.end()));
    if (!m) {
      return std::move(m).error().context("not pruning " + rep.url + ": LFS manifest " + oid);
    }
    manifests.push_back(std::move(*m));
  }
  rep.manifests = manifests.size();
  std::vector<ObjectId> missing;
  auto closure =
      TRY_CTX(store::object_closure(*store.local, distinct_object_ids(manifests), &missing),
              "not pruning " + rep.url);
  if (!missing.empty()) {
    return make_error(Errc::NotFound,
                      "not pruning " + rep.url + ": " + std::to_string(missing.size()) +
                          " object(s) that " + name +
                          "'s refs need are not in this clone's store (e.g. " + missing[0].hex() +
                          "), so the delta bases they need are unknown; `git zipllm fetch --all` "
                          "first (nothing was deleted)");
  }
  rep.needed = closure.size();
  std::unordered_set<ObjectId, ObjectIdHash> keep(closure.begin(), closure.end());
  rep.stats = TRY(remote->prune(
      [&](const ObjectId& id) { return keep.count(id) > 0; }, cutoff, opts.dry_run,
      [&](const ObjectId& id, uint64_t size) { rep.unneeded.emplace_back(id, size); }));
  return rep;
}

}  // namespace zipllm::git
