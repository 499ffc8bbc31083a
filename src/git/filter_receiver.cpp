// Filter::Receiver (filter.h): receiving the content of a clean, compared
// with the work-tree file instead of written out while the two agree.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "git/filter.h"
#include "ops/ingest.h"
#include "util/env.h"

namespace zipllm::git {

Status Filter::Receiver::to_spool() {
  std::string dir = TRY(m_filter.tmp_dir());
  m_spool.emplace(TRY(TempFile::create(dir, "spool")));
  if (m_file && m_offset > 0) {
    // The prefix that matched: copied inside the kernel.
    loff_t in = 0;
    uint64_t left = m_offset;
    while (left > 0) {
      ssize_t n = ::copy_file_range(m_file->get(), &in, m_spool->fd(), nullptr, left, 0);
      if (n <= 0) {
        if (n < 0 && (errno == EINTR)) {
          continue;
        }
        // Fall back to reading and writing.
        std::vector<uint8_t> buf(1 << 20);
        while (left > 0) {
          size_t k = static_cast<size_t>(std::min<uint64_t>(buf.size(), left));
          TRY_STATUS(read_exact_at(m_file->get(), static_cast<uint64_t>(in),
                                   std::span<uint8_t>(buf.data(), k), m_path));
          TRY_STATUS(
              write_all(m_spool->fd(), std::span<const uint8_t>(buf.data(), k), m_spool->path()));
          in += static_cast<loff_t>(k);
          left -= k;
        }
        break;
      }
      left -= static_cast<uint64_t>(n);
    }
  }
  m_file.reset();
  return {};
}

Status Filter::Receiver::feed(ByteView block) {
  if (!m_started) {
    m_started = true;
    if (auto dir = m_filter.tmp_dir(); dir && m_filter.m_repo && m_filter.m_repo->workdir()) {
      std::string wt = *m_filter.m_repo->workdir() + "/" + m_path;
      if (auto fd = open_read(wt)) {
        struct stat st {};
        if (::fstat(fd->get(), &st) == 0 && S_ISREG(st.st_mode)) {
          m_file_size = static_cast<uint64_t>(st.st_size);
          m_file.emplace(std::move(*fd));
        }
      }
    }
    if (!m_file) {
      TRY_STATUS(to_spool());
    }
  }
  m_hasher.update(block);
  if (m_file) {
    bool same = m_offset + block.size() <= m_file_size;
    if (same) {
      m_cmp.resize(block.size());
      same = read_exact_at(m_file->get(), m_offset, m_cmp, m_path) &&
             std::memcmp(m_cmp.data(), block.data(), block.size()) == 0;
    }
    if (!same) {
      TRY_STATUS(to_spool());
    }
  }
  if (m_spool) {
    TRY_STATUS(write_all(m_spool->fd(), block, m_spool->path()));
  }
  m_offset += block.size();
  return {};
}

Status Filter::Receiver::finish(std::string& out) {
  if (!m_started) {
    TRY_STATUS(feed(ByteView()));
  }
  ObjectId id = m_hasher.finish();
  if (m_file && m_offset != m_file_size) {
    TRY_STATUS(to_spool());  // the file is longer than what git sent
  }
  TRY_STATUS(m_filter.ensure_open());
  if (env::flag(env::Var::Trace)) {
    std::fprintf(stderr, "git-zipllm: trace: clean %s: %s\n", m_path.c_str(),
                 m_spool ? "spooled" : "same as the work tree file");
  }
  if (auto hit = clean_cache_lookup(*m_filter.m_store, id, m_offset)) {
    out = std::move(*hit);
    return {};
  }
  if (m_file) {
    // Equal to the work tree file, but not seen before: take a copy to
    // ingest (the file may change while we work). Ingest checks that the
    // copy hashes to what git sent.
    m_offset = m_file_size;
    TRY_STATUS(to_spool());
  }
  return m_filter.clean(m_path, *m_spool, out, id);
}

}  // namespace zipllm::git
