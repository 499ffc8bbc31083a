// Deleting store objects that nothing needs: `git zipllm prune`.
//
// Needed is every object of every manifest git can still reach: all refs,
// every reflog entry (so `commit --amend` and reset are undoable for as
// long as git keeps the reflog), the index, stashes and other worktrees
// (`git rev-list --all --reflog --indexed-objects`), plus registered bases
// and the LFS door's manifests; and, through delta bases, every object
// those are coded against. Objects younger than the grace period are kept
// (a running `git add` writes, or deduplicates against, objects before git
// writes the index that references them; deduplication freshens them, see
// LocalStore::freshen).
#pragma once

#include <chrono>

#include "format/manifest.h"
#include "git/model_store.h"
#include "git/repo.h"

namespace zipllm::git {

struct PruneOptions {
  bool dry_run = false;
  std::chrono::minutes grace{60};
};

struct PruneReport {
  store::LocalStore::PruneStats stats;
  size_t manifests = 0;  // the manifests whose objects were kept
  size_t needed = 0;     // objects they need, delta bases included
  size_t not_local = 0;  // needed objects this store does not have (fetched lazily)
  // Git LFS's copies (.git/lfs/objects) of files the LFS door holds.
  size_t lfs_copies = 0;        // deleted (or, with dry_run, would be)
  uint64_t lfs_copy_bytes = 0;  // their size
  size_t lfs_kept = 0;          // kept: the checked-out files' (git-lfs reads them)
};

// Also the LFS door's second copies: a file in .git/lfs/objects whose
// object the door stored (its manifest in <store>/lfs/, every object it
// needs, delta bases included, in the local store) is deleted when neither
// the index nor HEAD points at it and it is older than the grace period —
// git-lfs asks the agent for it again when it needs it, and the agent
// restores it from the store. The checked-out files' objects stay, as
// `git lfs prune` keeps them.
Result<PruneReport> prune_local(Repo& repo, ModelStore& store, const PruneOptions& opts);

// `git zipllm prune --remote [REMOTE]`: the same for the store a git
// remote pushes to. Needed is what every ref the remote has *now* reaches
// (`git ls-remote`; each tip must be in this clone, else: fetch first), plus
// the LFS door's manifests in that store, with delta bases — which this
// clone must be able to read, so every needed object must be local (else
// nothing is deleted and the error says what to fetch). Objects written
// within the grace period stay: a push uploads objects before it updates
// refs. Only for a store that this repository alone pushes to: another
// repository's objects in the same place look unneeded from here.
struct RemotePruneOptions {
  std::string remote;  // empty: the default remote
  bool dry_run = false;
  std::chrono::minutes grace{24 * 60};
};

struct RemotePruneReport {
  std::string url;
  remote::RemoteStore::PruneStats stats;
  size_t manifests = 0;
  size_t needed = 0;
  std::vector<std::pair<ObjectId, uint64_t>> unneeded;  // listed before deleting
};

Result<RemotePruneReport> prune_remote(Repo& repo, ModelStore& store,
                                       const RemotePruneOptions& opts);

// The manifests whose objects prune keeps (see above; not counting delta
// bases, which object_closure adds).
Result<std::vector<format::Manifest>> reachable_manifests(Repo& repo, const ModelStore& store);

}  // namespace zipllm::git
