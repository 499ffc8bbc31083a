// Progress on stderr for long operations, as git draws it: on a terminal one
// line, redrawn in place at most 5 times a second once the operation has run
// for half a second (short operations print nothing):
//
//   checkout ftA/model.safetensors: 45% (1.20 GiB / 2.00 GiB), 310 MB/s, 3s left
//   push s3://models/team: 45% (45/100 objects, 1.20 GiB), 310 MB/s, 3s left
//
// fitted to the terminal's width (the label shortened in the middle, query
// strings dropped from URLs), so it never wraps. When stderr is not a
// terminal, only a final summary line; with set_quiet(true) (`-q`),
// nothing. Callable from any thread.
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

  // `-q`: no progress at all (errors still print).
  static void set_quiet(bool quiet);
  static bool quiet();
  // The line as drawn for `width` columns (exposed for tests).
  static std::string format_line(const std::string& label, uint64_t done, uint64_t total,
                                 uint64_t items_done, uint64_t items_total, const char* items_name,
                                 double seconds, size_t width);

 private:
  std::string m_label;
  uint64_t m_total;
  std::chrono::steady_clock::time_point m_start;
  std::chrono::steady_clock::time_point m_last;
  bool m_drawn = false;
  bool m_tty;
  uint64_t m_delay_ms;    // GIT_ZIPLLM_PROGRESS_DELAY_MS
  std::string m_summary;  // the last line, for the final summary off a terminal
  std::mutex m_mutex;
};

}  // namespace zipllm
