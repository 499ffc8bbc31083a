#include "cli/progress.h"

#include "cli/commands.h"

#include <unistd.h>

#include <cstdio>

namespace zipllm::cli {

Progress::Progress(std::string label, uint64_t total)
    : m_label(std::move(label)),
      m_total(total),
      m_start(std::chrono::steady_clock::now()),
      m_last(m_start),
      m_tty(::isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() {
  if (m_drawn) {
    std::fprintf(stderr, m_tty ? "\n" : "");
  }
}

void Progress::update(uint64_t done) {
  std::lock_guard lock(m_mutex);
  auto now = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(now - m_start).count();
  bool final = done >= m_total;
  if (secs < 1.0 || (!final && now - m_last < std::chrono::milliseconds(m_tty ? 200 : 5000))) {
    return;
  }
  if (final && m_drawn && !m_tty) {
    return;
  }
  m_last = now;
  m_drawn = true;
  std::fprintf(stderr, "%s%s: %s / %s (%.0f MB/s)%s", m_tty ? "\r" : "", m_label.c_str(),
               human_bytes(done).c_str(), human_bytes(m_total).c_str(), done / secs / 1e6,
               m_tty ? "   " : "\n");
  std::fflush(stderr);
}

}  // namespace zipllm::cli
