#include "util/async_digest.h"

#include <algorithm>

namespace zipllm {

AsyncDigest::AsyncDigest(bool with_content_id, uint64_t max_queued)
    : m_with_content(with_content_id),
      m_max_queued(std::max<uint64_t>(max_queued, 1)),
      m_thread([this] { work(); }) {}

AsyncDigest::~AsyncDigest() {
  {
    std::lock_guard lock(m_mu);
    m_closed = true;
  }
  m_have_work.notify_one();
  if (m_thread.joinable()) {
    m_thread.join();
  }
}

void AsyncDigest::add(std::shared_ptr<const ScratchBytes> owner, ByteView piece) {
  if (piece.empty()) {
    return;
  }
  {
    std::unique_lock lock(m_mu);
    // A piece larger than the bound waits for an empty queue, then goes.
    m_have_room.wait(lock,
                     [&] { return m_queued == 0 || m_queued + piece.size() <= m_max_queued; });
    m_queue.push_back(Piece{std::move(owner), piece});
    m_queued += piece.size();
  }
  m_have_work.notify_one();
}

void AsyncDigest::add_copy(ByteView piece) {
  auto copy = std::make_shared<ScratchBytes>(piece.begin(), piece.end());
  ByteView view(copy->data(), copy->size());
  add(std::move(copy), view);
}

void AsyncDigest::work() {
  for (;;) {
    Piece p;
    {
      std::unique_lock lock(m_mu);
      m_have_work.wait(lock, [&] { return !m_queue.empty() || m_closed; });
      if (m_queue.empty()) {
        return;
      }
      p = std::move(m_queue.front());
      m_queue.pop_front();
    }
    // In slices, so the second hash reads each from cache, not memory.
    constexpr size_t k_slice = 256u << 10;
    for (size_t at = 0; at < p.bytes.size(); at += k_slice) {
      ByteView s = p.bytes.subspan(at, std::min(k_slice, p.bytes.size() - at));
      m_sha.update(s);
      if (m_with_content) {
        m_content.update(s);
      }
    }
    const size_t n = p.bytes.size();
    p.owner.reset();  // before the room is announced: the caller may reuse it
    {
      std::lock_guard lock(m_mu);
      m_queued -= n;
    }
    m_have_room.notify_all();
  }
}

AsyncDigest::Digests AsyncDigest::finish() {
  {
    std::lock_guard lock(m_mu);
    m_closed = true;
  }
  m_have_work.notify_one();
  if (m_thread.joinable()) {
    m_thread.join();
  }
  Digests d;
  d.sha256 = m_sha.finish();
  if (m_with_content) {
    d.content = m_content.finish();
  }
  return d;
}

}  // namespace zipllm
