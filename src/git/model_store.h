// The object store of a repository, ready to read and write: the local
// store at <common_dir>/zipllm (or zipllm.storepath), with upstreams that
// missing objects are fetched from on demand — the zipllm store of the
// default remote (git/settings.h) and the stores of remotes that are local
// paths — and a Resolver over them.
#pragma once

#include "format/manifest.h"
#include "git/repo.h"
#include "remote/fetch_through.h"
#include "store/resolver.h"

namespace zipllm::git {

struct ModelStore {
  std::unique_ptr<store::LocalStore> local;
  std::unique_ptr<remote::FetchThroughSource> source;
  store::Resolver resolver;

  static Result<std::unique_ptr<ModelStore>> open(Repo& repo);
  // The local store alone (no upstreams): for commands that must not touch
  // the network.
  static Result<std::unique_ptr<ModelStore>> open_local(Repo& repo);
  // A store of its own at `root` (no upstreams), for a dry run that must
  // leave the repository's store as it was (`migrate info`).
  static Result<std::unique_ptr<ModelStore>> open_scratch(Repo& repo, const std::string& root);
};

// Where the repository's local store is (zipllm.storepath, else
// <common dir>/zipllm).
std::string local_store_root(Repo& repo);

// The LFS door (git/lfs_agent.h): an LFS pointer's text, and the manifest
// the door keeps for its object (<store>/lfs/<oid>) if it stored it.
struct LfsPointer {
  std::string oid;  // SHA-256, 64 lowercase hex digits
  uint64_t size = 0;
};
std::optional<LfsPointer> parse_lfs_pointer(std::string_view text);
std::optional<format::Manifest> lfs_door_manifest(Repo& repo, const std::string& oid);

// The manifest in a file of the store (the clean cache, the LFS door's
// lfs/<oid>, a registered base): nullopt if it cannot be read or parsed.
std::optional<format::Manifest> manifest_file(const std::string& path);

// The clean cache: <store>/cache/clean/<content id> holds the manifest an
// earlier clean (or restore) produced for exactly those bytes. A hit is used
// only if it parses, has the content's size, and every object it names is
// present. Storing is best effort: a cache loses nothing when it fails.
std::optional<std::string> clean_cache_lookup(const ModelStore& store, const ObjectId& id,
                                              uint64_t size);
void clean_cache_store(const ModelStore& store, const ObjectId& id, const std::string& manifest);

}  // namespace zipllm::git
