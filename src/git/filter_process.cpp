// The long-running filter-process protocol (gitprotocol-long-running-process,
// with the "delay" capability) and the one-shot clean/smudge commands.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

#include "git/filter.h"
#include "git/pkt_line.h"
#include "ops/restore.h"
#include "util/env.h"
#include "util/redact.h"

namespace zipllm::git {

namespace {

Status copy_file_to_pkts(const std::string& path, PktWriter& w) {
  Fd fd = TRY(open_read(path));
  std::vector<uint8_t> buf(k_max_pkt_payload);
  while (true) {
    size_t n = TRY(read_some(fd.get(), buf, path));
    if (n == 0) {
      return {};
    }
    TRY_STATUS(w.write_data(std::span<const uint8_t>(buf.data(), n)));
  }
}

Status copy_fd_to(const std::string& path, int out_fd) {
  Fd fd = TRY(open_read(path));
  std::vector<uint8_t> buf(1 << 20);
  while (true) {
    size_t n = TRY(read_some(fd.get(), buf, path));
    if (n == 0) {
      return {};
    }
    TRY_STATUS(write_all(out_fd, std::span<const uint8_t>(buf.data(), n), "stdout"));
  }
}

std::string value_of(const std::vector<std::string>& lines, const std::string& key) {
  for (const auto& l : lines) {
    if (l.rfind(key + "=", 0) == 0) {
      return l.substr(key.size() + 1);
    }
  }
  return "";
}

void report(const std::string& what, const Error& e) {
  std::fprintf(stderr, "git-zipllm: %s failed: %s\n", what.c_str(), redact(e.message).c_str());
}

// Reads content packets until flush, handing them to `sink` in blocks of
// about 1 MiB (no allocation per packet). Everything is consumed even after
// the sink fails, so the protocol stays in step. The outer error is the
// protocol's (framing: the process must stop); the inner status is the
// sink's first error (this file fails, the process goes on).
Result<Status> receive_blocks(PktReader& r, const std::function<Status(ByteView)>& sink) {
  constexpr size_t k_block = 1 << 20;
  std::vector<uint8_t> block;
  block.reserve(k_block + k_max_pkt_payload);
  Status first;
  while (true) {
    bool more = TRY(r.append_packet(block));
    if (!more || block.size() >= k_block) {
      if (first && !block.empty()) {
        first = sink(block);
      }
      block.clear();
    }
    if (!more) {
      return first;
    }
  }
}

struct Caps {
  bool clean = false, smudge = false, delay = false;
};

Status handshake(PktReader& r, PktWriter& w, Caps& caps) {
  auto hello = TRY(r.read_text_list());
  if (hello.size() < 2 || hello[0] != "git-filter-client") {
    return make_error(Errc::InvalidArgument, "filter-process: not a git filter client");
  }
  bool v2 = false;
  for (size_t i = 1; i < hello.size(); ++i) {
    v2 = v2 || hello[i] == "version=2";
  }
  if (!v2) {
    return make_error(Errc::Unsupported, "filter-process: git does not offer protocol version 2");
  }
  TRY_STATUS(w.write_text("git-filter-server"));
  TRY_STATUS(w.write_text("version=2"));
  TRY_STATUS(w.flush());
  auto offered = TRY(r.read_text_list());
  for (const auto& c : offered) {
    caps.clean = caps.clean || c == "capability=clean";
    caps.smudge = caps.smudge || c == "capability=smudge";
    caps.delay = caps.delay || c == "capability=delay";
  }
  // Answer only capabilities git offered: anything else makes git die.
  if (caps.clean) {
    TRY_STATUS(w.write_text("capability=clean"));
  }
  if (caps.smudge) {
    TRY_STATUS(w.write_text("capability=smudge"));
  }
  if (caps.delay) {
    TRY_STATUS(w.write_text("capability=delay"));
  }
  return w.flush();
}

// The filter-process state machine: handshake, then one request at a time.
// Delayed smudges (checkout of many files) restore on their own threads
// while git goes on sending requests; git collects them through
// list_available_blobs and asks for each again with empty content.
class FilterServer {
 public:
  explicit FilterServer(ThreadPool& pool)
      : m_filter(pool), m_files(2), m_r(STDIN_FILENO), m_w(STDOUT_FILENO) {}
  ~FilterServer() {
    for (auto& [path, d] : m_delayed) {
      if (d.job.valid()) {
        d.job.wait();
      }
    }
  }
  int run();

 private:
  struct Delayed {
    std::shared_ptr<TempFile> spool;
    std::future<Result<Filter::SmudgeResult>> job;  // invalid until started
    bool announced = false;
  };
  // Starts every delayed smudge not started yet, after fetching what all of
  // them need in one parallel batch.
  void start_delayed();

  Status respond_error(const std::string& what, const Error& e) {
    report(what, e);
    TRY_STATUS(m_w.write_text("status=error"));
    return m_w.flush();
  }
  Status respond_file(const std::string& path_to_send) {
    TRY_STATUS(m_w.write_text("status=success"));
    TRY_STATUS(m_w.flush());
    TRY_STATUS(copy_file_to_pkts(path_to_send, m_w));
    TRY_STATUS(m_w.flush());
    return m_w.flush();  // empty status list: keep "success"
  }
  Status respond_bytes(const std::string& data) {
    TRY_STATUS(m_w.write_text("status=success"));
    TRY_STATUS(m_w.flush());
    TRY_STATUS(m_w.write_data(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size())));
    TRY_STATUS(m_w.flush());
    return m_w.flush();
  }
  Status list_available();
  Status handle(const std::vector<std::string>& header);

  Filter m_filter;
  ThreadPool m_files;  // delayed smudges; each restore uses the main pool for chunks
  PktReader m_r;
  PktWriter m_w;
  Caps m_caps;
  std::map<std::string, Delayed> m_delayed;
};

void FilterServer::start_delayed() {
  std::vector<const TempFile*> batch;
  for (auto& [path, d] : m_delayed) {
    if (!d.job.valid()) {
      batch.push_back(d.spool.get());
    }
  }
  if (batch.empty()) {
    return;
  }
  // A failed prefetch (remote unreachable) fails those files at once rather
  // than each retrying on its own.
  std::shared_ptr<Error> failed;
  if (Status s = m_filter.prefetch(batch); !s && s.error().code == Errc::Unavailable) {
    failed = std::make_shared<Error>(s.error());
  }
  Filter* filter = &m_filter;
  for (auto& [path, d] : m_delayed) {
    if (d.job.valid()) {
      continue;
    }
    auto owned = d.spool;
    std::string p = path;
    d.job = m_files.submit([filter, owned, p, failed]() -> Result<Filter::SmudgeResult> {
      if (failed) {
        return *failed;
      }
      return filter->smudge(p, *owned);
    });
  }
}

Status FilterServer::list_available() {
  start_delayed();
  std::vector<std::string> ready;
  while (ready.empty()) {
    bool pending = false;
    for (auto& [path, d] : m_delayed) {
      if (d.announced) {
        continue;
      }
      pending = true;
      if (d.job.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) {
        d.announced = true;
        ready.push_back(path);
      }
    }
    if (!pending) {
      break;  // nothing left: an empty list ends the delayed phase
    }
    if (ready.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  for (const auto& p : ready) {
    TRY_STATUS(m_w.write_text("pathname=" + p));
  }
  TRY_STATUS(m_w.flush());
  TRY_STATUS(m_w.write_text("status=success"));
  return m_w.flush();
}

Status FilterServer::handle(const std::vector<std::string>& header) {
  std::string command = value_of(header, "command");
  std::string path = value_of(header, "pathname");
  if (command == "list_available_blobs") {
    return list_available();  // no content section
  }
  std::string what = command + " " + path;
  if (command == "clean" && m_caps.clean) {
    Filter::Receiver rx(m_filter, path);
    Status got = TRY(receive_blocks(m_r, [&](ByteView b) { return rx.feed(b); }));
    if (!got) {
      return respond_error(what, got.error());
    }
    std::string out;
    Status s = rx.finish(out);
    return s ? respond_bytes(out) : respond_error(what, s.error());
  }
  auto spool = std::make_shared<std::optional<TempFile>>();
  Status prep;
  if (auto dir = m_filter.tmp_dir(); !dir) {
    prep = dir.error();
  } else if (auto t = TempFile::create(*dir, "spool"); !t) {
    prep = t.error();
  } else {
    spool->emplace(std::move(*t));
  }
  // Always consume the content, even when we cannot use it.
  Status got = TRY(receive_blocks(m_r, [&](ByteView b) -> Status {
    return *spool ? write_all((*spool)->fd(), b, (*spool)->path()) : Status();
  }));
  if (prep) {
    prep = got;
  }
  if (!prep) {
    return respond_error(what, prep.error());
  }
  if (command != "smudge" || !m_caps.smudge) {
    return respond_error(what, make_error(Errc::Unsupported, "unknown command '" + command + "'"));
  }
  // A delayed file, now collected.
  if (auto it = m_delayed.find(path); it != m_delayed.end()) {
    if (!it->second.job.valid()) {
      start_delayed();
    }
    Delayed d = std::move(it->second);
    m_delayed.erase(it);
    auto r = d.job.get();
    if (!r) {
      return respond_error(what, r.error());
    }
    return respond_file(r->passthrough ? d.spool->path() : r->restored->path());
  }
  bool can_delay = m_caps.delay && value_of(header, "can-delay") == "1";
  if (can_delay && m_filter.is_manifest(**spool)) {
    // Started at the first list_available_blobs, when every delayed file of
    // this checkout is known: their missing objects come down in one batch.
    Delayed d;
    d.spool = std::make_shared<TempFile>(std::move(**spool));
    m_delayed.emplace(path, std::move(d));
    if (env::flag(env::Var::Trace)) {
      std::fprintf(stderr, "git-zipllm: trace: smudge %s delayed\n", path.c_str());
    }
    TRY_STATUS(m_w.write_text("status=delayed"));
    return m_w.flush();
  }
  auto r = m_filter.smudge(path, **spool);
  if (!r) {
    return respond_error(what, r.error());
  }
  return respond_file(r->passthrough ? (*spool)->path() : r->restored->path());
}

int FilterServer::run() {
  if (Status s = handshake(m_r, m_w, m_caps); !s) {
    report("filter-process handshake", s.error());
    return 1;
  }
  while (true) {
    auto header = m_r.read_text_list();
    if (!header) {
      if (header.error().code == Errc::NotFound) {
        return 0;  // git closed the pipe: done
      }
      report("filter-process", header.error());
      return 1;
    }
    if (Status s = handle(*header); !s) {
      report("filter-process", s.error());
      return 1;
    }
  }
}

}  // namespace

int run_filter_process(ThreadPool& pool) {
  std::signal(SIGPIPE, SIG_IGN);
  // Bigger pipes: git writes ahead while we work, fewer switches per GiB.
  // (Best effort: the limit is /proc/sys/fs/pipe-max-size.)
  (void)::fcntl(STDIN_FILENO, F_SETPIPE_SZ, 1 << 20);
  (void)::fcntl(STDOUT_FILENO, F_SETPIPE_SZ, 1 << 20);
  FilterServer server(pool);
  return server.run();
}

int run_filter_once(ThreadPool& pool, bool clean, const std::string& path) {
  Filter filter(pool);
  auto dir = filter.tmp_dir();
  if (!dir) {
    report(clean ? "clean" : "smudge", dir.error());
    return 1;
  }
  std::vector<uint8_t> buf(1 << 20);
  auto read_all = [&](const std::function<Status(ByteView)>& sink) -> Status {
    while (true) {
      size_t n = TRY(read_some(STDIN_FILENO, buf, "stdin"));
      if (n == 0) {
        return {};
      }
      TRY_STATUS(sink(std::span<const uint8_t>(buf.data(), n)));
    }
  };
  if (clean) {
    Filter::Receiver rx(filter, path);
    std::string out;
    Status s = read_all([&](ByteView b) { return rx.feed(b); });
    if (s) {
      s = rx.finish(out);
    }
    if (!s) {
      report("clean " + path, s.error());
      return 1;
    }
    s = write_all(
        STDOUT_FILENO,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(out.data()), out.size()),
        "stdout");
    return s ? 0 : 1;
  }
  auto spool = TempFile::create(*dir, "spool");
  if (!spool) {
    report("smudge", spool.error());
    return 1;
  }
  if (Status s = read_all([&](ByteView b) { return write_all(spool->fd(), b, spool->path()); });
      !s) {
    report("read", s.error());
    return 1;
  }
  auto sr = filter.smudge(path, *spool);
  if (!sr) {
    report("smudge " + path, sr.error());
    return 1;
  }
  Status s = copy_fd_to(sr->passthrough ? spool->path() : sr->restored->path(), STDOUT_FILENO);
  return s ? 0 : 1;
}

}  // namespace zipllm::git
