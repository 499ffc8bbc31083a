// The hub's bound on uploads in flight. An upload past the bound waits for
// a slot instead of being answered at once: an answer sent before the body
// is read races git-lfs 3.3, whose HTTP transport may start reading a PUT's
// body after the answer came back and the worker moved on. On a push's first
// upload that calls its "authenticated" callback twice and git-lfs panics
// ("sync: negative WaitGroup counter"), failing the push. Waiting also wastes
// nothing: the client's bytes stay in its socket until a slot frees, where a
// 429 made it send a multi-gigabyte file again. Only when the waiting room is
// full too (each waiter holds a server thread) or the wait is too long does an
// upload get 429.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace zipllm::hub {

class UploadGate {
 public:
  struct Limits {
    unsigned active = 4;   // uploads in flight
    unsigned waiting = 8;  // uploads waiting for a slot; more get 429
    std::chrono::milliseconds wait{std::chrono::minutes(2)};
  };

  // A slot held for a request's life (or not: ok() false).
  class Slot {
   public:
    Slot(Slot&& o) noexcept : m_gate(o.m_gate) { o.m_gate = nullptr; }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    Slot& operator=(Slot&&) = delete;
    ~Slot();
    bool ok() const { return m_gate != nullptr; }

   private:
    friend class UploadGate;
    explicit Slot(UploadGate* g) : m_gate(g) {}
    UploadGate* m_gate;
  };

  explicit UploadGate(Limits limits) : m_limits(limits) {}

  // A slot now, or once one frees within the wait; not ok() when the
  // waiting room is full, the wait ran out or stop() was called.
  Slot acquire();
  // Wakes every waiter, empty-handed, and refuses later ones.
  void stop();

 private:
  void release();

  const Limits m_limits;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  unsigned m_active = 0;
  unsigned m_waiting = 0;
  bool m_stopped = false;
};

}  // namespace zipllm::hub
