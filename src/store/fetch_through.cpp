#include "store/fetch_through.h"

namespace zipllm::store {

bool FetchThroughSource::contains(const ObjectId& id) const {
  if (m_local.contains(id)) {
    return true;
  }
  for (const auto& up : m_upstreams) {
    if (up->contains(id)) {
      return true;
    }
  }
  return false;
}

Result<std::optional<ObjectLocation>> FetchThroughSource::locate(const ObjectId& id) const {
  auto here = TRY(m_local.locate(id));
  if (here) {
    return here;
  }
  for (const auto& up : m_upstreams) {
    auto there = TRY(up->locate(id));
    if (!there) {
      continue;
    }
    // Loose (no batching): the copy must be visible as soon as it commits.
    auto out = TRY(m_local.create(id, UINT64_MAX));
    std::vector<uint8_t> buf(1 << 20);
    for (uint64_t off = 0; off < there->length; off += buf.size()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), there->length - off));
      std::span<uint8_t> part(buf.data(), n);
      TRY_STATUS(read_exact_at(there->fd->get(), there->offset + off, part, there->where));
      TRY_STATUS(out->append(part));
    }
    TRY_STATUS(out->commit());
    return m_local.locate(id);
  }
  return std::optional<ObjectLocation>();
}

}  // namespace zipllm::store
