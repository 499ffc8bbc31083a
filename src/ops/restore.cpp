#include "ops/restore.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>

#include "format/safetensors.h"
#include "util/buffer.h"

namespace zipllm::ops {

namespace {

using Buffer = std::vector<uint8_t>;

// A chunk being decoded into `buf` (which the worker writes to the file
// itself); its future says whether that worked.
struct PendingChunk {
  std::future<Status> done;
  std::unique_ptr<ScratchBytes> buf;
  uint32_t len = 0;
  size_t tensor = 0;
};

// Checks that the header JSON describes exactly the manifest's tensors.
Status check_header(const format::Manifest& m, ByteView header_json) {
  auto h = format::parse_header(header_json, m.size);
  if (!h) {
    return make_error(Errc::Corrupt, "stored header: " + h.error().message);
  }
  if (h->tensors.size() != m.tensors.size()) {
    return make_error(Errc::Corrupt, "stored header lists " + std::to_string(h->tensors.size()) +
                                         " tensors, the manifest " +
                                         std::to_string(m.tensors.size()));
  }
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const auto& a = h->tensors[i];
    const auto& b = m.tensors[i].info;
    if (a.name != b.name || a.dtype != b.dtype || a.shape != b.shape || a.begin != b.begin ||
        a.end != b.end) {
      return make_error(Errc::Corrupt, "manifest line for tensor '" + b.name +
                                           "' disagrees with the stored header");
    }
  }
  uint64_t tail = m.has_tail ? m.tail_len : 0;
  if (h->tail_size != tail) {
    return make_error(Errc::Corrupt, "manifest tail disagrees with the stored header");
  }
  return {};
}

class Restore {
 public:
  Restore(const format::Manifest& m, const store::Resolver& resolver, ThreadPool& pool,
          const RestoreOptions& opts)
      : m_m(m), m_resolver(resolver), m_pool(pool), m_opts(opts) {}
  ~Restore() {
    for (auto& p : m_pending) {
      if (p.done.valid()) {
        p.done.wait();
      }
    }
  }
  Status run(AtomicFile& out);
  Status finish_checks(const AtomicFile& out);

 private:
  Status drain(uint64_t keep);
  // After a SHA-256 mismatch: names the first tensor whose bytes in the
  // file do not hash to its object id.
  Status name_mismatch(const AtomicFile& out);
  Status queue_tensor(AtomicFile& out, size_t index);

  const format::Manifest& m_m;
  const store::Resolver& m_resolver;
  ThreadPool& m_pool;
  const RestoreOptions& m_opts;
  std::deque<PendingChunk> m_pending;
  std::vector<std::unique_ptr<ScratchBytes>> m_free;  // chunk buffers to reuse
  uint64_t m_inflight = 0;
  std::mutex m_write_mu;
  Sha256 m_sha;
  IdHasher m_whole;
  void update(ByteView b) {
    m_sha.update(b);
    if (m_opts.content_id) {
      m_whole.update(b);
    }
  }
  uint64_t m_written = 0;
};

Status Restore::drain(uint64_t keep) {
  while (!m_pending.empty() &&
         (keep == 0 || m_inflight > keep || m_pending.size() > m_opts.max_pending_chunks)) {
    PendingChunk p = std::move(m_pending.front());
    m_pending.pop_front();
    Status done = p.done.get();
    m_inflight -= p.len;
    const auto& t = m_m.tensors[p.tensor];
    if (!done) {
      return std::move(done).error().context("tensor '" + t.info.name + "'");
    }
    ByteView data(p.buf ? p.buf->data() : nullptr, p.len);
    // The hashes run over one slice at a time, so the later ones read it
    // from cache, not memory.
    constexpr size_t k_slice = 256u << 10;
    for (size_t at = 0; at < data.size(); at += k_slice) {
      update(data.subspan(at, std::min(k_slice, data.size() - at)));
    }
    m_written += data.size();
    if (p.buf) {
      m_free.push_back(std::move(p.buf));
    }
    if (m_opts.on_progress) {
      m_opts.on_progress(m_written);
    }
  }
  return {};
}

Status Restore::name_mismatch(const AtomicFile& out) {
  std::vector<uint8_t> buf;
  for (const auto& t : m_m.tensors) {
    const uint64_t at = 8 + m_m.header_len + t.info.begin;
    const uint64_t size = t.info.size();
    IdHasher h;
    for (uint64_t off = 0; off < size; off += 8u << 20) {
      buf.resize(static_cast<size_t>(std::min<uint64_t>(8u << 20, size - off)));
      TRY_STATUS(read_exact_at(out.fd(), at + off, buf, out.temp_path()));
      h.update(buf);
    }
    if (h.finish() != t.id) {
      return make_error(Errc::Corrupt, "tensor '" + t.info.name + "': object " + t.id.hex() +
                                           " decodes to bytes with a different hash");
    }
  }
  return make_error(Errc::Corrupt, "restored bytes do not match the manifest's SHA-256");
}

Status Restore::queue_tensor(AtomicFile& out, size_t index) {
  const auto& t = m_m.tensors[index];
  const store::Resolver* resolver = &m_resolver;
  const uint64_t size = t.info.size();
  std::shared_ptr<const store::ObjectReader> reader;
  uint32_t cs = format::k_default_chunk_size;
  if (const store::RawTensor* raw = m_resolver.raw_source(t.id)) {
    if (raw->size != size) {
      return make_error(Errc::Corrupt, "base tensor " + raw->where + " has the wrong size");
    }
  } else {
    auto r = m_resolver.open(t.id);
    if (!r) {
      return std::move(r).error().context("tensor '" + t.info.name + "'");
    }
    const auto& h = r->header();
    if (h.raw_size != size || (size > 0 && h.dtype != t.info.dtype)) {
      return make_error(Errc::Corrupt, "tensor '" + t.info.name + "': object " + t.id.hex() +
                                           " has the wrong size or dtype");
    }
    cs = h.chunk_size;
    reader = std::make_shared<const store::ObjectReader>(std::move(*r));
  }
  if (size == 0) {
    return {};  // nothing to write; the SHA-256 covers its (absent) bytes
  }
  ObjectId id = t.id;
  for (uint64_t off = 0; off < size; off += cs) {
    uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(cs, size - off));
    uint32_t i = static_cast<uint32_t>(off / cs);
    std::unique_ptr<ScratchBytes> buf;
    if (m_free.empty()) {
      buf = std::make_unique<ScratchBytes>();
    } else {
      buf = std::move(m_free.back());
      m_free.pop_back();
    }
    buf->resize(len);
    // Workers write their chunk at its place in the file themselves; the
    // main thread only hashes, in order.
    const uint64_t file_pos = 8 + m_m.header_len + t.info.begin + off;
    AtomicFile* file = &out;
    std::mutex* write_mu = &m_write_mu;
    std::span<uint8_t> dst(buf->data(), len);
    const bool check = m_opts.check_chunks;
    auto fut = m_pool.submit(
        [resolver, reader, id, off, i, file, file_pos, dst, write_mu, check]() -> Status {
          if (reader) {
            // The main thread hashes the whole file against the manifest's
            // SHA-256, which covers every tensor: the chunk checksum would be a
            // second pass (unless someone reads the file before that).
            TRY_STATUS(resolver->decode_chunk_into(*reader, i, dst, /*check_sum=*/check));
          } else {
            TRY_STATUS(resolver->read_raw(id, off, dst));
          }
          // One writer at a time: concurrent writes to one file contend for its
          // inode lock, and the kernel spins the waiter (measured: writes cost
          // up to twice the CPU); a blocked worker sleeps and frees the core.
          std::lock_guard<std::mutex> lock(*write_mu);
          return file->pwrite(file_pos, dst);
        });
    m_pending.push_back(PendingChunk{std::move(fut), std::move(buf), len, index});
    m_inflight += len;
    TRY_STATUS(drain(m_opts.max_inflight));
  }
  return {};
}

Status Restore::run(AtomicFile& out) {
  if (m_m.generic) {
    for (const auto& d : m_m.data) {
      Buffer part =
          TRY_CTX(read_blob(m_resolver, d.id, d.len), "data part at " + std::to_string(m_written));
      update(part);
      TRY_STATUS(out.pwrite(m_written, part));
      m_written += part.size();
      if (m_opts.on_progress) {
        m_opts.on_progress(m_written);
      }
    }
    return finish_checks(out);
  }
  Buffer header = TRY_CTX(read_blob(m_resolver, m_m.header_id, m_m.header_len), "header");
  TRY_STATUS(check_header(m_m, header));
  Buffer prefix(8);
  for (int i = 0; i < 8; ++i) {
    prefix[i] = static_cast<uint8_t>(m_m.header_len >> (8 * i));
  }
  update(prefix);
  update(header);
  TRY_STATUS(out.pwrite(0, prefix));
  TRY_STATUS(out.pwrite(8, header));
  m_written = prefix.size() + header.size();
  for (size_t i = 0; i < m_m.tensors.size(); ++i) {
    TRY_STATUS(queue_tensor(out, i));
  }
  TRY_STATUS(drain(0));
  if (m_m.has_tail) {
    Buffer tail = TRY_CTX(read_blob(m_resolver, m_m.tail_id, m_m.tail_len), "tail");
    update(tail);
    TRY_STATUS(out.pwrite(m_m.size - tail.size(), tail));
    m_written += tail.size();
  }
  return finish_checks(out);
}

Status Restore::finish_checks(const AtomicFile& out) {
  if (m_written != m_m.size) {
    return make_error(Errc::Corrupt, "restored " + std::to_string(m_written) +
                                         " bytes, the manifest says " + std::to_string(m_m.size));
  }
  if (m_sha.finish() != m_m.sha256) {
    return m_m.generic
               ? make_error(Errc::Corrupt, "restored bytes do not match the manifest's SHA-256")
               : name_mismatch(out);
  }
  if (m_opts.content_id) {
    *m_opts.content_id = m_whole.finish();
  }
  return {};
}

}  // namespace

Result<std::vector<uint8_t>> read_blob(const store::Resolver& resolver, const ObjectId& id,
                                       uint64_t size) {
  // The size comes from a manifest (untrusted): allocate only what the
  // object really holds.
  uint64_t have = TRY(resolver.raw_size(id));
  if (have != size) {
    return make_error(Errc::Corrupt, "object " + id.hex() + " holds " + std::to_string(have) +
                                         " bytes, the manifest says " + std::to_string(size));
  }
  if (size > (1ull << 32)) {
    return make_error(Errc::InvalidArgument,
                      "blob of " + std::to_string(size) + " bytes is too large");
  }
  std::vector<uint8_t> data(size);
  TRY_STATUS(resolver.read_raw(id, 0, data));
  if (object_id_of(data) != id) {
    return make_error(Errc::Corrupt,
                      "object " + id.hex() + " decodes to bytes with a different hash");
  }
  return data;
}

Status restore_file(const format::Manifest& m, const store::Resolver& resolver,
                    const std::string& out_path, ThreadPool& pool, const RestoreOptions& opts) {
  AtomicFile out = TRY(AtomicFile::create(out_path, opts.mode, opts.durable, opts.tmp_dir));
  if (opts.on_file) {
    opts.on_file(out.fd());
  }
  {
    Restore r(m, resolver, pool, opts);
    TRY_STATUS(r.run(out));
  }
  if (opts.mtime) {
    const timespec times[2] = {{0, UTIME_OMIT}, *opts.mtime};
    if (::futimens(out.fd(), times) != 0) {
      return make_error(Errc::IoError,
                        out_path + ": cannot set its modification time: " + std::strerror(errno));
    }
  }
  return out.commit();
}

}  // namespace zipllm::ops
