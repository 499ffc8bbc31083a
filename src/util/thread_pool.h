// A fixed set of worker threads taking tasks from one queue. Built once in
// main (or by a test) and passed down; never global. submit() is
// thread-safe; the destructor finishes queued tasks and joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace zipllm {

class ThreadPool {
 public:
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  template <class F>
  auto submit(F&& f) -> std::future<decltype(f())> {
    using R = decltype(f());
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(f));
    std::future<R> fut = task->get_future();
    {
      std::lock_guard lock(m_mutex);
      m_tasks.emplace_back([task] { (*task)(); });
    }
    m_cv.notify_one();
    return fut;
  }

  unsigned size() const { return static_cast<unsigned>(m_workers.size()); }

  // Threads to use by default: GIT_ZIPLLM_THREADS if set, else the CPUs
  // this process may run on (usable_cores).
  static unsigned default_threads();
  // CPUs in this process's affinity mask (taskset, a container's cpuset).
  static unsigned usable_cores();

 private:
  void run();
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<std::function<void()>> m_tasks;
  std::vector<std::thread> m_workers;
  bool m_stop = false;
};

}  // namespace zipllm
