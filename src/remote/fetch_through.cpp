#include "remote/fetch_through.h"

namespace zipllm::remote {

bool FetchThroughSource::contains(const ObjectId& id) const {
  if (m_local.contains(id)) {
    return true;
  }
  for (const auto& up : m_upstreams) {
    if (up->is_local()) {
      auto has = up->has_object(id);
      if (has && *has) {
        return true;
      }
    }
  }
  return false;
}

Result<std::optional<store::ObjectLocation>> FetchThroughSource::locate(const ObjectId& id) const {
  auto here = TRY(m_local.locate(id));
  if (here) {
    return here;
  }
  TransferOptions opts = default_transfer_options("");
  std::optional<Error> first;
  for (const auto& up : m_upstreams) {
    Status s = download_object(*up, m_local, id, opts);
    if (s) {
      return m_local.locate(id);
    }
    if (s.error().code != Errc::NotFound && !first) {
      first = std::move(s).error();  // unreachable or corrupt: say so if nobody has it
    }
  }
  if (first) {
    return *first;
  }
  return std::optional<store::ObjectLocation>();
}

}  // namespace zipllm::remote
