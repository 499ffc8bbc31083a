// An ObjectSource over a local store and upstream stores (for now: the
// stores of remotes that are local paths). An object found only upstream is
// copied into the local store first (atomically), so the repository keeps
// working when the upstream goes away. Thread-safe as LocalStore is.
#pragma once

#include "store/local_store.h"

#include <vector>

namespace zipllm::store {

class FetchThroughSource : public ObjectSource {
public:
  FetchThroughSource(LocalStore& local, std::vector<std::unique_ptr<LocalStore>> upstreams)
      : m_local(local), m_upstreams(std::move(upstreams)) {}

  Result<std::optional<ObjectLocation>> locate(const ObjectId& id) const override;
  bool contains(const ObjectId& id) const override;

private:
  LocalStore& m_local;
  std::vector<std::unique_ptr<LocalStore>> m_upstreams;
};

}  // namespace zipllm::store
