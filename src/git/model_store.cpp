#include "git/model_store.h"

namespace zipllm::git {

Result<std::unique_ptr<ModelStore>> ModelStore::open(Repo& repo) {
  auto ms = std::make_unique<ModelStore>();
  std::string path = repo.config_string("zipllm.storepath").value_or(repo.store_path());
  ms->local = TRY(store::LocalStore::open(path));
  std::vector<std::unique_ptr<store::LocalStore>> upstreams;
  for (const auto& remote : repo.local_remote_paths()) {
    auto other = Repo::open_at(remote);
    if (!other) {
      continue;
    }
    std::string up = other->store_path();
    if (up != path && path_exists(up + "/objects")) {
      upstreams.push_back(TRY(store::LocalStore::open(up)));
    }
  }
  ms->source = std::make_unique<store::FetchThroughSource>(*ms->local, std::move(upstreams));
  ms->resolver.add_source(ms->source.get());
  return ms;
}

}  // namespace zipllm::git
