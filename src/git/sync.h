// Moving a repository's model objects between its local store and a remote
// store: finding the manifests git is about to push or has checked out,
// the objects they need (with delta bases), and transferring them.
#pragma once

#include "format/manifest.h"
#include "git/model_store.h"
#include "remote/transfer.h"

namespace zipllm::git {

// The blobs of `ref`'s tree (`git ls-tree -r -l`), with their sizes.
struct TreeBlob {
  std::string path;
  std::string hex;
  uint64_t size = 0;
};
Result<std::vector<TreeBlob>> ls_tree(const std::string& ref);

// Every object the manifests name, each once, in order.
std::vector<ObjectId> distinct_object_ids(const std::vector<format::Manifest>& manifests);

// Manifests among the blobs `git rev-list --objects ARGS...` lists (each
// distinct blob once).
Result<std::vector<format::Manifest>> manifests_in_history(
    Repo& repo, const std::vector<std::string>& rev_args);
// Manifests of the files in the trees of `refs` (the files a checkout of
// each would produce), with their paths.
struct TreeManifest {
  std::string path;
  format::Manifest manifest;
};
Result<std::vector<TreeManifest>> manifests_in_trees(Repo& repo,
                                                     const std::vector<std::string>& refs);

// Every object the manifests need, delta bases included, from the local
// store (the closure fails naming any object the local store lacks).
Result<std::vector<ObjectId>> needed_objects(const ModelStore& store,
                                             const std::vector<format::Manifest>& manifests);

// Uploads what `remote` lacks of everything the manifests need.
Result<remote::TransferStats> upload_manifests(ModelStore& store, remote::RemoteStore& remote,
                                               const std::vector<format::Manifest>& manifests,
                                               const remote::TransferOptions& opts);

// Publishes the models among `manifests` in the remote store's model index
// (ops/model_index.h: the markers, then models/<sha256>), so the base
// finder of every clone using that store sees them. Call after their
// objects are there. Models already published cost one existence check.
// The LFS door passes `in_lfs`: its lfs/<oid> key (oid = SHA-256) already
// holds the manifest, written after the markers, and readers look there.
Status publish_models(remote::RemoteStore& remote, const std::vector<format::Manifest>& manifests,
                      bool in_lfs = false);

// Makes every object the manifests need local, downloading from the
// store's upstreams in order. Objects no upstream has are left missing
// (restore names them); an unreachable upstream is an error.
Result<remote::TransferStats> prefetch(ModelStore& store,
                                       const std::vector<format::Manifest>& manifests,
                                       const remote::TransferOptions& opts);

// Parses `git rev-list`-style pre-push input ("<local ref> <local sha>
// <remote ref> <remote sha>" lines) into rev-list arguments: the pushed
// commits, minus what the remote has.
std::vector<std::string> pre_push_rev_args(const std::string& stdin_text,
                                           const std::string& remote);

}  // namespace zipllm::git
