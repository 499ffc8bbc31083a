// Progress on stderr for long operations: "label: 1.2 GiB / 2.0 GiB (310 MB/s)",
// redrawn at most 5 times a second, and only once the operation has run for
// a second (short operations print nothing). Callable from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace zipllm::cli {

class Progress {
public:
  Progress(std::string label, uint64_t total);
  ~Progress();  // ends the line if anything was drawn
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void update(uint64_t done);

private:
  std::string m_label;
  uint64_t m_total;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last;
  bool m_drawn = false;
  bool m_tty;
  std::mutex m_mutex;
};

}  // namespace zipllm::cli
