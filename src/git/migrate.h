// `git zipllm migrate import` / `info`: history written before git-zipllm
// (model files as plain git blobs or Git LFS pointers) rewritten so that
// every matching file is a manifest and its tensors are in the store, as
// `git lfs migrate import` does for LFS.
//
// Commits are rewritten oldest first (so each version finds the previous
// one as its base), through libgit2: a tree is rewritten once per path it
// appears at, a blob once; the root tree of every commit that holds a
// matching file gets the `.gitattributes` lines `track` writes. Author,
// committer, dates and messages are kept; a commit whose tree and parents
// come out unchanged keeps its id (and its signature). Refs are moved only
// after every commit is written, each only if it still points where it
// did (a concurrent change fails the update, naming the ref); an annotated
// tag gets a new tag object with the same tagger and message. Running it
// again is a no-op: manifests pass through unchanged.
#pragma once

#include <string>
#include <vector>

#include "git/filter.h"
#include "git/path_filter.h"
#include "git/repo.h"

namespace zipllm::git {

struct MigrateOptions {
  std::vector<std::string> refs;  // branches or tags; none: the current branch
  bool everything = false;        // every local branch and tag
  PathFilter paths;               // include defaults to *.safetensors
  bool dry_run = false;           // `info`: write nothing to git
};

struct MigrateReport {
  std::vector<std::string> refs;       // full names walked
  std::vector<std::string> rewritten;  // refs moved (or that would be)
  size_t commits = 0;                  // walked
  size_t commits_changed = 0;          // rewritten (or would be)
  size_t files = 0;                    // distinct blobs made manifests
  size_t lfs_pointers = 0;             // of which were Git LFS pointers
  size_t already = 0;                  // distinct blobs that were manifests already
  uint64_t raw_bytes = 0;              // file content of `files`
  uint64_t git_disk_bytes = 0;         // what git (and .git/lfs) hold for them on disk
  uint64_t manifest_bytes = 0;         // the manifests that replace them
  bool head_rewritten = false;         // the checked-out branch moved
};

// Rewrites (or with dry_run, walks) the history; objects go to `filter`'s
// store; a progress line counts the commits.
Result<MigrateReport> migrate(Repo& repo, Filter& filter, const MigrateOptions& options);

}  // namespace zipllm::git
