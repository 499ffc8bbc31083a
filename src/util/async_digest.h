// AsyncDigest: a byte stream's SHA-256 (and, if asked, its XXH3-128 content
// id) computed on a thread of its own, in the order the pieces were added.
//
// A file's SHA-256 is inherently sequential and runs at ~1.7 GB/s even with
// SHA-NI: done by the thread that reads the file, it paced the whole ingest.
// Here the reader hands each piece over and goes on. A piece is a view into
// a shared buffer the caller leaves unchanged until the digest drops its
// reference (ScratchBytes pools can tell by use_count()); at most
// `max_queued` bytes wait, beyond that add() blocks.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "util/buffer.h"
#include "util/hash.h"

namespace zipllm {

class AsyncDigest {
 public:
  explicit AsyncDigest(bool with_content_id, uint64_t max_queued = 256u << 20);
  ~AsyncDigest();  // waits for the thread; the digests are dropped
  AsyncDigest(const AsyncDigest&) = delete;
  AsyncDigest& operator=(const AsyncDigest&) = delete;

  void add(std::shared_ptr<const ScratchBytes> owner, ByteView piece);
  void add_copy(ByteView piece);

  struct Digests {
    std::array<uint8_t, 32> sha256{};
    ObjectId content;  // zero unless asked for
  };
  // Waits for every piece added; call once.
  Digests finish();

 private:
  struct Piece {
    std::shared_ptr<const ScratchBytes> owner;
    ByteView bytes;
  };
  void work();

  const bool m_with_content;
  const uint64_t m_max_queued;
  std::mutex m_mu;
  std::condition_variable m_have_work, m_have_room;
  std::deque<Piece> m_queue;
  uint64_t m_queued = 0;
  bool m_closed = false;
  Sha256 m_sha;
  IdHasher m_content;
  std::thread m_thread;  // last: starts after the members it uses exist
};

}  // namespace zipllm
