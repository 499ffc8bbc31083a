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

}  // namespace zipllm::git
