#include "util/thread_pool.h"

#include <sched.h>

#include <cstdlib>

#include "util/env.h"

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

unsigned ThreadPool::usable_cores() {
  // The CPUs this process may run on (taskset, a container's cpuset), not
  // all the machine has: more threads than that only take turns.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) {
      return static_cast<unsigned>(n);
    }
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? n : 1;
}

unsigned ThreadPool::default_threads() {
  return static_cast<unsigned>(env::number(env::Var::Threads, usable_cores(), 1, 256));
}

}  // namespace zipllm
