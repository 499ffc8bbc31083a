// Which base model a tracked file is delta-coded against, in an order the
// user can predict and override:
//   1. the gitattribute `zipllm-base=<path>`: another tracked safetensors
//      file, or a folder whose tracked *.safetensors are the shards of one
//      base (or the name of a registered base);
//   2. `zipllm.base` in the committed .zipllmconfig (git-config syntax): a
//      registered base name or a path as in 1;
//   3. the model card: `base_model:` in the YAML front matter of the
//      README.md beside the file, matched against registered bases
//      (`git zipllm base add NAME FILE...`);
//   4. the previous committed version of the same path (HEAD:path), so a
//      series of checkpoints deltas against its predecessor; chain depth is
//      bounded by the object format (ingest falls back to solo coding).
// The base's tensors are taken from its manifest (index first, then HEAD),
// so its objects must be in the store. Per tensor, ingest still keeps a
// delta only where it beats solo coding.
#pragma once

#include "git/model_store.h"
#include "git/repo.h"
#include "ops/base_model.h"
#include "util/thread_pool.h"

namespace zipllm::git {

struct ResolvedBase {
  ops::BaseModel model;
  std::string origin;  // e.g. "attribute zipllm-base=base/model.safetensors"
};

// `store` and `pool` are used to ingest a declared base that is in the work
// tree but not staged yet (added in the same `git add`). Rules 1 to 4; the
// clean filter and the LFS agent go through git/base_choice.h instead,
// which lets the base finder weigh rule 4 against other candidates.
Result<std::optional<ResolvedBase>> resolve_base(Repo& repo, ModelStore& store, ThreadPool& pool,
                                                 const std::string& path);
// Rules 1 to 3 only: what the user declared.
Result<std::optional<ResolvedBase>> resolve_declared_base(Repo& repo, ModelStore& store,
                                                          ThreadPool& pool,
                                                          const std::string& path);
// Rule 4: HEAD's version of `path`, if it is a manifest.
Result<std::optional<ResolvedBase>> previous_version(Repo& repo, const std::string& path);

// The manifest in the index for `path`: nullopt when the blob is not a
// manifest at all (a file committed before the filter); Corrupt naming the
// path when it starts like one but does not parse (never skipped silently).
Result<std::optional<format::Manifest>> index_manifest(Repo& repo, const std::string& path);

// The manifest stored for `path` in the index, else in HEAD; nullopt if
// neither holds a manifest (a damaged one counts as none: for choosing a
// base, not for restoring).
Result<std::optional<format::Manifest>> stored_manifest(Repo& repo, const std::string& path,
                                                        bool index_first = true);

}  // namespace zipllm::git
