#include "util/thread_pool.h"

#include <cstdlib>

namespace zipllm {

ThreadPool::ThreadPool(unsigned threads) {
  if (threads == 0) {
    threads = 1;
  }
  for (unsigned i = 0; i < threads; ++i) {
    m_workers.emplace_back([this] { run(); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_cv.notify_all();
  for (auto& t : m_workers) {
    t.join();
  }
}

void ThreadPool::run() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(m_mutex);
      m_cv.wait(lock, [this] { return m_stop || !m_tasks.empty(); });
      if (m_tasks.empty()) {
        return;
      }
      task = std::move(m_tasks.front());
      m_tasks.pop_front();
    }
    task();
  }
}

unsigned ThreadPool::default_threads() {
  if (const char* env = std::getenv("GIT_ZIPLLM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0 && n <= 256) {
      return static_cast<unsigned>(n);
    }
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

}  // namespace zipllm
