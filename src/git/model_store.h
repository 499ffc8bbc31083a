// The object store of a repository, ready to read and write: the local
// store at <common_dir>/zipllm, the stores of local-path remotes as
// upstreams, and a Resolver over them.
#pragma once

#include "git/repo.h"
#include "store/fetch_through.h"
#include "store/resolver.h"

namespace zipllm::git {

struct ModelStore {
  std::unique_ptr<store::LocalStore> local;
  std::unique_ptr<store::FetchThroughSource> source;
  store::Resolver resolver;

  static Result<std::unique_ptr<ModelStore>> open(Repo& repo);
};

}  // namespace zipllm::git
