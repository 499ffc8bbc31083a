// The Git LFS door: the custom transfer agent `git-zipllm transfer` that
// git-lfs runs (JSON lines on stdin/stdout, one transfer at a time;
// git-lfs's docs/custom-transfers.md). Two modes, chosen per event:
//
// Standalone (`git zipllm lfs-enable`: no LFS server, the objects live in
// the remote's store; the event carries no action):
//   upload:   if the remote store already has lfs/<oid>, done. Otherwise a
//             safetensors object is ingested into the local store (delta
//             base chosen as by the clean filter, through the repository
//             path that holds the pointer), every object its manifest needs
//             is uploaded, and the manifest goes to lfs/<oid> last — so the
//             remote never names data it lacks. Other files are stored as
//             generic parts the same way.
//   download: lfs/<oid> is fetched into <git dir>/lfs/tmp; a manifest is
//             restored (objects fetched in parallel, SHA-256 checked) into a
//             file there, whose path goes back to git-lfs, which re-hashes
//             it and renames it into place.
// Through a git-zipllm hub (the hub answered a batch with the `zipllm`
// adapter; the event carries the action's href and token headers,
// remote/hub_object.h):
//   upload:   ingested locally as above; the hub is asked which of the
//             manifest's objects it lacks, only those are sent, then the
//             manifest, which the hub accepts once they rebuild the file.
//   download: the manifest, then only the objects the local store lacks (a
//             base model already here costs nothing), restored locally. A
//             file the hub has not stored yet comes whole.
// A failed transfer answers complete with an error and the agent keeps
// serving; `terminate` exits 0. stdout carries only protocol lines.
#pragma once

#include "util/thread_pool.h"

namespace zipllm::git {

int run_lfs_agent(ThreadPool& pool);

}  // namespace zipllm::git
