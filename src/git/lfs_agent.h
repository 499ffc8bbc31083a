// The Git LFS door: a standalone custom transfer agent (git-lfs runs
// `git-zipllm transfer` for remotes `git zipllm lfs-enable` selected). JSON
// lines on stdin/stdout, one transfer at a time (git-lfs's custom transfer
// protocol, docs/custom-transfers.md in git-lfs):
//
//   upload:   if the remote store already has lfs/<oid>, done. Otherwise a
//             safetensors object is ingested into the local store (delta
//             base from the zipllm-base attribute, .zipllmconfig or the
//             model card, found through the repository path that holds the
//             pointer), every object its manifest needs is uploaded, and
//             the manifest goes to lfs/<oid> last — so the remote never
//             names data it lacks. Other files go to lfs/<oid> as they are.
//   download: lfs/<oid> is fetched into <git dir>/lfs/tmp; a manifest is
//             restored (objects fetched in parallel, SHA-256 checked) into a
//             file there, whose path goes back to git-lfs, which re-hashes
//             it and renames it into place.
// A failed transfer answers complete with an error and the agent keeps
// serving; `terminate` exits 0. stdout carries only protocol lines.
#pragma once

#include "util/thread_pool.h"

namespace zipllm::git {

int run_lfs_agent(ThreadPool& pool);

}  // namespace zipllm::git
