// Progress on stderr for long operations: "label: 1.2 GiB / 2.0 GiB (310 MB/s)",
// redrawn at most 5 times a second, and only once the operation has run for
// a second (short operations print nothing). Callable from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace zipllm {

// "1.23 GiB"
std::string human_bytes(uint64_t n);

class Progress {
 public:
  Progress(std::string label, uint64_t total);
  ~Progress();  // ends the line if anything was drawn
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void update(uint64_t done);
  // With a count of items (objects, files): "3/10 objects, 1.2 GiB / 2.0 GiB".
  void update(uint64_t done, uint64_t items_done, uint64_t items_total, const char* items_name);

 private:
  std::string m_label;
  uint64_t m_total;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last;
  bool m_drawn = false;
  bool m_tty;
  std::mutex m_mutex;
};

}  // namespace zipllm
