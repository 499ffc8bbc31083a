// Repairing a repository's store: objects that are damaged or missing are
// written again from the model files in the work tree that still hold
// their bytes, else downloaded from the store's upstreams (the remote's
// zipllm store, local-path remotes' stores). Damaged copies are
// quarantined first (store/local_store.h), never trusted.
#pragma once

#include <vector>

#include "git/model_store.h"
#include "git/repo.h"
#include "util/thread_pool.h"

namespace zipllm::git {

struct RepairReport {
  std::vector<ObjectId> from_work_tree;  // re-encoded from a work tree file
  std::vector<ObjectId> downloaded;      // fetched from an upstream store
  std::vector<ObjectId> unrepaired;      // nobody had the bytes
  std::vector<std::string> notes;        // what was tried and did not work, for the user
};

// `bad`: ids known to be damaged or missing (duplicates allowed).
Result<RepairReport> repair_objects(Repo& repo, ModelStore& store, ThreadPool& pool,
                                    const std::vector<ObjectId>& bad);

// After a clone whose checkout failed (a smudge could not find its
// objects), git leaves no index although HEAD has files, and every later
// command sees "0 files". When there is no index file and HEAD has files,
// this reads HEAD into the index and writes the files that are missing
// from the work tree (never replacing one that exists), model files as
// their manifests (placeholders) for the caller to restore. Returns what it
// did, for the user ("" when nothing needed repair).
Result<std::string> repair_failed_checkout(Repo& repo);

// The complaint about Repo::unfiltered_manifests(), naming the files and
// the fix ("" when there are none).
std::string unfiltered_manifests_message(const std::vector<std::string>& paths);

}  // namespace zipllm::git
