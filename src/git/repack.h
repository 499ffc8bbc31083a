// Re-encoding stored models against a better base without rewriting
// history: `git zipllm repack [PATH...]`.
//
// A manifest names tensors by id, never an encoding, so the store may code
// an object again. For each tracked model (in the order the paths first
// appeared in history, so each is offered only the models before it, as
// the base finder at commit time would have been) the file is restored to
// a temp file, the base is chosen again (git/base_choice.h), and every
// object is encoded against it into a staging folder. An object is replaced
// only when the new encoding is smaller and the delta chains stay sound:
// its depth does not grow, unless no other object uses it as a base (so no
// cycle and no chain past the limit can form). Replacing is atomic per
// object (a rename, or a rewritten pack published before the old one is
// deleted): a kill at any point leaves every object readable and every
// restore byte-exact. The produced manifest must equal the stored one, or
// nothing of that file is replaced.
#pragma once

#include "git/model_store.h"
#include "git/repo.h"
#include "util/thread_pool.h"

namespace zipllm::git {

struct RepackOptions {
  bool dry_run = false;
  std::vector<std::string> paths;  // empty: every tracked model
};

struct RepackedFile {
  std::string path;
  std::string base;     // how its base was chosen; empty: none related
  uint64_t before = 0;  // stored bytes of the objects it re-encoded
  uint64_t after = 0;   // the same objects now
  size_t replaced = 0;  // objects re-encoded
};

struct RepackReport {
  std::vector<RepackedFile> files;
  uint64_t before = 0, after = 0;
  size_t replaced = 0;
};

Result<RepackReport> repack(Repo& repo, ModelStore& store, ThreadPool& pool,
                            const RepackOptions& opts);

}  // namespace zipllm::git
