#include "util/progress.h"

#include <unistd.h>

#include <cstdio>

#include "util/redact.h"

namespace zipllm {

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

Progress::Progress(std::string label, uint64_t total)
    : m_label(redact(label)),
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
  update(done, 0, 0, nullptr);
}

void Progress::update(uint64_t done, uint64_t items_done, uint64_t items_total,
                      const char* items_name) {
  std::lock_guard lock(m_mutex);
  auto now = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(now - m_start).count();
  bool final = items_name ? items_done >= items_total : done >= m_total;
  if (secs < 1.0 || (!final && now - m_last < std::chrono::milliseconds(m_tty ? 200 : 5000))) {
    return;
  }
  if (final && m_drawn && !m_tty) {
    return;
  }
  m_last = now;
  m_drawn = true;
  std::string items;
  if (items_name) {
    items =
        std::to_string(items_done) + "/" + std::to_string(items_total) + " " + items_name + ", ";
  }
  std::string total = m_total ? " / " + human_bytes(m_total) : "";
  std::fprintf(stderr, "%s%s: %s%s%s (%.0f MB/s)%s", m_tty ? "\r" : "", m_label.c_str(),
               items.c_str(), human_bytes(done).c_str(), total.c_str(), done / secs / 1e6,
               m_tty ? "   " : "\n");
  std::fflush(stderr);
}

}  // namespace zipllm
