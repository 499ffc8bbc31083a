// An ObjectSource over the local store and upstream remote stores (the
// repository's zipllm remote, the stores of local-path git remotes). An
// object found only upstream is downloaded into the local store first,
// verified, so the repository keeps working when the upstream goes away.
// contains() asks only the local store and upstreams on local disk (it is
// called often; a network round trip each would be slow). Thread-safe.
#pragma once

#include <vector>

#include "remote/transfer.h"

namespace zipllm::remote {

class FetchThroughSource : public store::ObjectSource {
 public:
  FetchThroughSource(store::LocalStore& local, std::vector<std::unique_ptr<RemoteStore>> upstreams)
      : m_local(local), m_upstreams(std::move(upstreams)) {}

  Result<std::optional<store::ObjectLocation>> locate(const ObjectId& id) const override;
  bool contains(const ObjectId& id) const override;
  const std::vector<std::unique_ptr<RemoteStore>>& upstreams() const { return m_upstreams; }

 private:
  store::LocalStore& m_local;
  std::vector<std::unique_ptr<RemoteStore>> m_upstreams;
};

}  // namespace zipllm::remote
