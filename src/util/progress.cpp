#include "util/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "util/env.h"
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

namespace {

std::atomic<bool> g_quiet{false};

// URLs lose their query (endpoints, regions: noise on one line).
std::string without_queries(std::string s) {
  for (size_t q = s.find('?'); q != std::string::npos; q = s.find('?', q)) {
    size_t end = s.find(' ', q);
    s.erase(q, end == std::string::npos ? std::string::npos : end - q);
  }
  return s;
}

size_t terminal_width() {
  struct winsize ws {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    return ws.ws_col;
  }
  if (const char* c = std::getenv("COLUMNS")) {
    long n = std::strtol(c, nullptr, 10);
    if (n > 0) {
      return static_cast<size_t>(n);
    }
  }
  return 80;
}

std::string duration(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, int(s) / 60 % 60);
  }
  return buf;
}

}  // namespace

void Progress::set_quiet(bool quiet) {
  g_quiet = quiet;
}

bool Progress::quiet() {
  return g_quiet;
}

std::string Progress::format_line(const std::string& label, uint64_t done, uint64_t total,
                                  uint64_t items_done, uint64_t items_total, const char* items_name,
                                  double seconds, size_t width) {
  double fraction = items_name && items_total ? double(items_done) / double(items_total)
                    : total                   ? double(done) / double(total)
                                              : -1;
  std::string what;
  if (items_name) {
    what = std::to_string(items_done) + "/" + std::to_string(items_total) + " " + items_name +
           ", " + human_bytes(done);
  } else {
    what = human_bytes(done) + (total ? " / " + human_bytes(total) : "");
  }
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.0f MB/s", seconds > 0 ? double(done) / seconds / 1e6 : 0.0);
  std::string tail =
      fraction >= 0 ? std::to_string(int(fraction * 100)) + "% (" + what + ")" : what;
  tail += std::string(", ") + rate;
  if (fraction > 0 && fraction < 1) {
    tail += ", " + duration(seconds * (1 - fraction) / fraction) + " left";
  } else if (fraction >= 1) {
    tail += ", " + duration(seconds);
  }
  std::string head = without_queries(label);
  // One line, never wrapped: the label gives way, shortened in its middle.
  size_t room = width > tail.size() + 3 ? width - 1 - tail.size() - 2 : 0;
  if (head.size() > room) {
    if (room < 8) {
      head = head.substr(0, room);
    } else {
      size_t keep = room - 3;
      head = head.substr(0, keep / 2) + "..." + head.substr(head.size() - (keep - keep / 2));
    }
  }
  std::string line = head + ": " + tail;
  return line.size() >= width ? line.substr(0, width ? width - 1 : 0) : line;
}

Progress::Progress(std::string label, uint64_t total)
    : m_label(redact(label)),
      m_total(total),
      m_start(std::chrono::steady_clock::now()),
      m_last(m_start),
      m_tty(::isatty(STDERR_FILENO) != 0),
      m_delay_ms(env::number(env::Var::ProgressDelayMs, 500, 0, 60000)) {}

Progress::~Progress() {
  if (!m_drawn || g_quiet) {
    return;
  }
  if (m_tty) {
    std::fprintf(stderr, "\n");
  } else {
    std::fprintf(stderr, "%s\n", m_summary.c_str());  // the one line a log gets
  }
}

void Progress::update(uint64_t done) {
  update(done, 0, 0, nullptr);
}

void Progress::update(uint64_t done, uint64_t items_done, uint64_t items_total,
                      const char* items_name) {
  if (g_quiet) {
    return;
  }
  std::lock_guard lock(m_mutex);
  auto now = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(now - m_start).count();
  bool final = items_name ? items_done >= items_total : done >= m_total;
  if (secs * 1000 < double(m_delay_ms) ||
      (!final && now - m_last < std::chrono::milliseconds(200))) {
    return;
  }
  m_last = now;
  m_drawn = true;
  std::string line = format_line(m_label, done, m_total, items_done, items_total, items_name, secs,
                                 m_tty ? terminal_width() : 100000);
  if (!m_tty) {
    m_summary = line;  // printed once, at the end
    return;
  }
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
}

}  // namespace zipllm
