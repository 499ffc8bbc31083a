#include "git/filter.h"

#include "git/base_resolution.h"
#include "git/pkt_line.h"
#include "ops/ingest.h"
#include "ops/restore.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace zipllm::git {

namespace {

Result<uint64_t> spool_size(const TempFile& f) { return file_size(f.fd(), f.path()); }

Result<std::string> read_small(const TempFile& f, uint64_t size) {
  std::string s(size, '\0');
  TRY_STATUS(read_exact_at(f.fd(), 0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), size),
                           f.path()));
  return s;
}

bool starts_with_manifest_magic(const TempFile& f, uint64_t size) {
  if (size < format::k_manifest_magic.size()) {
    return false;
  }
  std::vector<uint8_t> head(format::k_manifest_magic.size());
  if (!read_exact_at(f.fd(), 0, head, f.path())) {
    return false;
  }
  return format::looks_like_manifest(head);
}

}  // namespace

Status Filter::ensure_open() {
  if (m_store) {
    return {};
  }
  m_repo.emplace(TRY(Repo::open()));
  m_store = TRY(ModelStore::open(*m_repo));
  return {};
}

Result<std::string> Filter::tmp_dir() {
  TRY_STATUS(ensure_open());
  return m_store->local->root() + "/tmp";
}

Status Filter::clean(const std::string& path, const TempFile& content, std::string& out) {
  TRY_STATUS(ensure_open());
  uint64_t size = TRY(spool_size(content));
  if (starts_with_manifest_magic(content, size) && size <= format::k_max_manifest_size) {
    std::string text = TRY(read_small(content, size));
    if (format::parse_manifest(text)) {
      out = std::move(text);  // already clean
      return {};
    }
  }
  auto base = TRY_CTX(resolve_base(*m_repo, path), "base model");
  ops::IngestOptions opts;
  auto m = ops::ingest_file(content.path(), base ? &base->model : nullptr, m_store->resolver,
                            *m_store->local, m_pool, opts, nullptr);
  if (!m) {
    // The spool's name means nothing to the user: name the tracked path.
    Error e = std::move(m).error();
    size_t at = e.message.find(content.path());
    while (at != std::string::npos) {
      e.message.replace(at, content.path().size(), path);
      at = e.message.find(content.path());
    }
    if (e.message.rfind(path, 0) != 0) {
      e = std::move(e).context(path);
    }
    return e;
  }
  out = format::serialize_manifest(*m);
  return {};
}

Result<Filter::SmudgeResult> Filter::smudge(const std::string& path, const TempFile& content) {
  SmudgeResult r;
  const char* skip = std::getenv("GIT_ZIPLLM_SKIP_SMUDGE");
  uint64_t size = TRY(spool_size(content));
  if ((skip && std::string(skip) == "1") || !starts_with_manifest_magic(content, size) ||
      size > format::k_max_manifest_size) {
    r.passthrough = true;
    return r;
  }
  std::string text = TRY(read_small(content, size));
  auto m = format::parse_manifest(text);
  if (!m) {
    return std::move(m).error().context(path);
  }
  TRY_STATUS(ensure_open());
  TempFile out = TRY(TempFile::create(m_store->local->root() + "/tmp", "smudge"));
  // restore_file publishes by rename; restore to a name beside the temp file
  // and rename over it.
  std::string target = out.path();
  Status s = ops::restore_file(*m, m_store->resolver, target, m_pool, ops::RestoreOptions{});
  if (!s) {
    return std::move(s).error().context(path);
  }
  // `out`'s descriptor refers to the replaced (empty) inode; reopen by path.
  r.restored.emplace(std::move(out));
  return r;
}

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
  std::fprintf(stderr, "git-zipllm: %s failed: %s\n", what.c_str(), e.message.c_str());
}

// Reads content packets until flush into `spool`.
Status receive_content(PktReader& r, const TempFile& spool) {
  while (true) {
    auto pkt = TRY(r.read_packet());
    if (!pkt) {
      return {};
    }
    TRY_STATUS(write_all(spool.fd(), *pkt, spool.path()));
  }
}

Status handshake(PktReader& r, PktWriter& w, bool& can_clean, bool& can_smudge) {
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
  auto caps = TRY(r.read_text_list());
  for (const auto& c : caps) {
    can_clean = can_clean || c == "capability=clean";
    can_smudge = can_smudge || c == "capability=smudge";
  }
  // Answer only capabilities git offered: anything else makes git die.
  if (can_clean) {
    TRY_STATUS(w.write_text("capability=clean"));
  }
  if (can_smudge) {
    TRY_STATUS(w.write_text("capability=smudge"));
  }
  return w.flush();
}

}  // namespace

int run_filter_process(ThreadPool& pool) {
  std::signal(SIGPIPE, SIG_IGN);
  PktReader r(STDIN_FILENO);
  PktWriter w(STDOUT_FILENO);
  bool can_clean = false, can_smudge = false;
  if (Status s = handshake(r, w, can_clean, can_smudge); !s) {
    report("filter-process handshake", s.error());
    return 1;
  }
  Filter filter(pool);
  while (true) {
    auto header = r.read_text_list();
    if (!header) {
      if (header.error().code == Errc::NotFound) {
        return 0;  // git closed the pipe: done
      }
      report("filter-process", header.error());
      return 1;
    }
    std::string command = value_of(*header, "command");
    std::string path = value_of(*header, "pathname");
    auto dir = filter.tmp_dir();
    std::optional<TempFile> spool;
    Status prep;
    if (dir) {
      auto t = TempFile::create(*dir, "spool");
      if (t) {
        spool.emplace(std::move(*t));
      } else {
        prep = t.error();
      }
    } else {
      prep = dir.error();
    }
    // Always consume the content, even when we cannot use it.
    if (spool) {
      prep = receive_content(r, *spool);
    } else {
      while (true) {
        auto pkt = r.read_packet();
        if (!pkt || !*pkt) {
          break;
        }
      }
    }
    Status result = prep;
    std::string clean_out;
    std::optional<Filter::SmudgeResult> smudged;
    if (result) {
      if (command == "clean" && can_clean) {
        result = filter.clean(path, *spool, clean_out);
      } else if (command == "smudge" && can_smudge) {
        auto sr = filter.smudge(path, *spool);
        if (sr) {
          smudged.emplace(std::move(*sr));
        } else {
          result = sr.error();
        }
      } else {
        result = make_error(Errc::Unsupported, "unknown command '" + command + "'");
      }
    }
    Status io;
    if (!result) {
      report(command + " " + path, result.error());
      io = w.write_text("status=error");
      if (io) {
        io = w.flush();
      }
    } else {
      io = w.write_text("status=success");
      if (io) io = w.flush();
      if (io) {
        if (command == "clean") {
          io = w.write_data(std::span<const uint8_t>(
              reinterpret_cast<const uint8_t*>(clean_out.data()), clean_out.size()));
        } else if (smudged->passthrough) {
          io = copy_file_to_pkts(spool->path(), w);
        } else {
          io = copy_file_to_pkts(smudged->restored->path(), w);
        }
      }
      if (io) io = w.flush();
      if (io) io = w.flush();  // empty status list: keep "success"
    }
    if (!io) {
      report("filter-process", io.error());
      return 1;
    }
  }
}

int run_filter_once(ThreadPool& pool, bool clean, const std::string& path) {
  Filter filter(pool);
  auto dir = filter.tmp_dir();
  if (!dir) {
    report(clean ? "clean" : "smudge", dir.error());
    return 1;
  }
  auto spool = TempFile::create(*dir, "spool");
  if (!spool) {
    report(clean ? "clean" : "smudge", spool.error());
    return 1;
  }
  std::vector<uint8_t> buf(1 << 20);
  while (true) {
    auto n = read_some(STDIN_FILENO, buf, "stdin");
    if (!n) {
      report("read", n.error());
      return 1;
    }
    if (*n == 0) {
      break;
    }
    if (Status s = write_all(spool->fd(), std::span<const uint8_t>(buf.data(), *n), spool->path()); !s) {
      report("spool", s.error());
      return 1;
    }
  }
  if (clean) {
    std::string out;
    if (Status s = filter.clean(path, *spool, out); !s) {
      report("clean " + path, s.error());
      return 1;
    }
    Status s = write_all(STDOUT_FILENO, std::span<const uint8_t>(
                                            reinterpret_cast<const uint8_t*>(out.data()), out.size()),
                         "stdout");
    return s ? 0 : 1;
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
