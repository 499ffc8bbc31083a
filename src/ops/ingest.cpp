#include "ops/ingest.h"

#include <deque>
#include <future>
#include <optional>
#include <unordered_set>

#include "ops/safetensors_file.h"
#include "store/object_io.h"
#include "util/async_digest.h"
#include "util/buffer.h"

namespace zipllm::ops {

namespace {

using Buffer = std::vector<uint8_t>;

struct EncodedChunk {
  Result<Buffer> bytes = Buffer();
  uint64_t raw_sum = 0;
  bool used_base = false;
};

// One step of the in-order write queue.
struct Pending {
  enum Kind { Begin, Chunk, Finish } kind;
  format::ObjectHeader header;      // Begin
  std::future<EncodedChunk> chunk;  // Chunk
  uint64_t raw_bytes = 0;           // Chunk
  size_t report_index = SIZE_MAX;   // Finish: which TensorReport gets the size
};

class Ingest {
 public:
  Ingest(const std::string& path, const BaseModel* base, const store::Resolver& resolver,
         store::ObjectSink& sink, ThreadPool& pool, const IngestOptions& opts, IngestReport& report)
      : m_path(path),
        m_base(base),
        m_resolver(resolver),
        m_sink(sink),
        m_pool(pool),
        m_opts(opts),
        m_report(report),
        m_digest(opts.expect_content_id.has_value(), k_digest_queue) {}

  ~Ingest() {
    // Jobs refer to this object: never leave while one still runs.
    for (auto& p : m_pending) {
      if (p.kind == Pending::Chunk && p.chunk.valid()) {
        p.chunk.wait();
      }
    }
  }

  Result<format::Manifest> run();

 private:
  Result<format::Manifest> run_generic();
  // `bulk`: file contents (fast zstd), not JSON headers (zstd -12).
  Status add_blob(ByteView data, ObjectId id, bool bulk = false);
  Status add_tensor(const SafetensorsFile& f, const format::TensorInfo& t,
                    format::ManifestTensor& mt);
  void queue_chunk(std::shared_ptr<const ScratchBytes> raw, size_t raw_off, uint32_t len,
                   const format::DtypeInfo& dt, std::optional<ObjectId> base_id, uint64_t base_off,
                   uint32_t base_len, codec::EncodeOptions copts);
  Status drain(uint64_t keep_bytes);
  // Reads `out.size()` raw bytes of the tensor or blob being ingested at `offset`.
  using RawReader = std::function<Status(uint64_t offset, std::span<uint8_t> out)>;
  // Whether `id` is already stored so it need not be written: a damaged
  // copy is replaced, not trusted; a foreign one (from another store) is
  // compared with the raw bytes first, since an id (XXH3-128) can be
  // forged to collide: equal, it is vouched for; different, it is set
  // aside and the true bytes are written.
  Result<bool> have(const ObjectId& id, uint64_t size, const RawReader& raw);

  const std::string& m_path;
  const BaseModel* m_base;
  const store::Resolver& m_resolver;
  store::ObjectSink& m_sink;
  ThreadPool& m_pool;
  const IngestOptions& m_opts;
  IngestReport& m_report;

  // Every byte of the file goes to the digest once, in file order; it hashes
  // on its own thread (the reader does not wait for the SHA-256).
  void digest(ByteView b) { m_digest.add_copy(b); }
  void digest(const std::shared_ptr<ScratchBytes>& owner) {
    m_digest.add(owner, ByteView(owner->data(), owner->size()));
  }
  // The file's SHA-256, once the digest has every byte; an error if the
  // bytes read are not those the caller expected.
  Result<std::array<uint8_t, 32>> finish_digest() {
    const AsyncDigest::Digests d = m_digest.finish();
    if (m_opts.expect_content_id && d.content != *m_opts.expect_content_id) {
      return make_error(
          Errc::IoError,
          "the file changed while it was being added (what was read differs from what "
          "was received); try again");
    }
    return d.sha256;
  }

  // At most this many bytes wait for the digest thread.
  static constexpr uint64_t k_digest_queue = 64u << 20;
  AsyncDigest m_digest;
  uint64_t m_read = 0;
  std::deque<Pending> m_pending;
  uint64_t m_inflight = 0;
  std::optional<store::ObjectWriter> m_writer;
  std::unordered_set<ObjectId, ObjectIdHash> m_written;
  // A buffer of `pool` nobody else holds any more (the jobs and the digest
  // drop theirs when done with the bytes; a job's task object may outlive
  // its result for a moment), else a new one, pooled while the pool has
  // fewer than `max`. Never given back: in a VM fresh pages cost more than
  // the reads into them.
  static std::shared_ptr<ScratchBytes> idle_buffer(std::vector<std::shared_ptr<ScratchBytes>>& pool,
                                                   size_t max = SIZE_MAX) {
    for (const auto& b : pool) {
      if (b.use_count() == 1) {
        return b;
      }
    }
    if (pool.size() >= max) {
      return std::make_shared<ScratchBytes>();
    }
    pool.push_back(std::make_shared<ScratchBytes>());
    return pool.back();
  }
  // Chunk-sized buffers: pass 1's reads of large tensors (held by the
  // digest) and pass 2's (held by their jobs).
  std::vector<std::shared_ptr<ScratchBytes>> m_chunks;
  // Whole small tensors (up to keep_limit) held from hashing to encoding:
  // three pooled (one being read, one being coded, one for the digest to
  // lag behind).
  std::vector<std::shared_ptr<ScratchBytes>> m_kept;
};

void Ingest::queue_chunk(std::shared_ptr<const ScratchBytes> raw, size_t raw_off, uint32_t len,
                         const format::DtypeInfo& dt, std::optional<ObjectId> base_id,
                         uint64_t base_off, uint32_t base_len, codec::EncodeOptions copts) {
  const store::Resolver* resolver = &m_resolver;
  const format::DtypeInfo* dtp = &dt;
  auto fut = m_pool.submit(
      [raw, raw_off, len, dtp, base_id, base_off, base_len, copts, resolver]() -> EncodedChunk {
        EncodedChunk out;
        ByteView data(raw->data() + raw_off, len);
        out.raw_sum = checksum64(data);
        // Reused by this thread's next chunk: fresh pages for every 4 MiB
        // cost more than the copy into them in a VM.
        thread_local ScratchBytes base;
        base.resize(0);
        if (base_id && base_len > 0) {
          base.resize(base_len);
          Status s = resolver->read_raw(*base_id, base_off, base);
          if (!s) {
            out.bytes = std::move(s).error();
            return out;
          }
        }
        Buffer enc;
        codec::encode_chunk(data, base, *dtp, copts, enc);
        out.used_base = codec::needs_base(static_cast<codec::ChunkMode>(enc[0]));
        out.bytes = std::move(enc);
        return out;
      });
  m_pending.push_back(Pending{Pending::Chunk, {}, std::move(fut), len, SIZE_MAX});
  m_inflight += len;
}

Status Ingest::drain(uint64_t keep_bytes) {
  while (!m_pending.empty() && (m_inflight > keep_bytes || keep_bytes == 0)) {
    Pending p = std::move(m_pending.front());
    m_pending.pop_front();
    switch (p.kind) {
      case Pending::Begin: {
        auto out = TRY(m_sink.create(p.header.id, p.header.raw_size));
        m_writer.emplace(TRY(store::ObjectWriter::begin(std::move(out), p.header)));
        break;
      }
      case Pending::Chunk: {
        EncodedChunk c = p.chunk.get();
        m_inflight -= p.raw_bytes;
        if (!c.bytes) {
          return std::move(c.bytes).error();
        }
        TRY_STATUS(m_writer->append_chunk(*c.bytes, c.raw_sum, c.used_base));
        break;
      }
      case Pending::Finish: {
        uint64_t size = TRY(m_writer->finish());
        m_report.stored_size += size;
        if (p.report_index != SIZE_MAX) {
          m_report.tensors[p.report_index].stored_size = size;
          m_report.tensors[p.report_index].delta = m_writer->used_base();
        }
        m_writer.reset();
        break;
      }
    }
  }
  return {};
}

Result<bool> Ingest::have(const ObjectId& id, uint64_t size, const RawReader& raw) {
  if (m_written.count(id) || m_resolver.raw_tensor(id)) {
    return true;
  }
  auto holding = m_sink.holding(id);
  if (holding != store::ObjectSink::Holding::Foreign) {
    return holding == store::ObjectSink::Holding::Own;
  }
  bool same = m_resolver.raw_size(id).ok() && *m_resolver.raw_size(id) == size;
  Buffer mine, theirs;
  for (uint64_t off = 0; same && off < size; off += m_opts.chunk_size) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(m_opts.chunk_size, size - off));
    mine.resize(n);
    theirs.resize(n);
    TRY_STATUS(raw(off, mine));
    same = m_resolver.read_raw(id, off, theirs) && mine == theirs;
  }
  if (same) {
    TRY_STATUS(m_sink.vouch(id));
    return true;
  }
  TRY_STATUS(m_sink.reject(id));
  return false;
}

Status Ingest::add_blob(ByteView data, ObjectId id, bool bulk) {
  bool stored = TRY(have(id, data.size(), [&](uint64_t off, std::span<uint8_t> out) -> Status {
    std::copy_n(data.begin() + static_cast<ptrdiff_t>(off), out.size(), out.begin());
    return {};
  }));
  if (stored) {
    return {};
  }
  m_written.insert(id);
  format::ObjectHeader h;
  h.kind = format::ObjectKind::Blob;
  h.dtype = format::Dtype::U8;
  h.raw_size = data.size();
  h.chunk_size = m_opts.chunk_size;
  h.id = id;
  m_pending.push_back(Pending{Pending::Begin, h, {}, 0, SIZE_MAX});
  auto buf = std::make_shared<const ScratchBytes>(data.begin(), data.end());
  codec::EncodeOptions copts = m_opts.codec;
  // JSON and odd bytes: zstd often wins; bulk data must also be fast.
  copts.policy = codec::Policy{true, false, true, bulk ? 3 : 12};
  for (uint64_t off = 0; off < data.size(); off += h.chunk_size) {
    uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(h.chunk_size, data.size() - off));
    queue_chunk(buf, off, len, format::dtype_info(format::Dtype::U8), std::nullopt, 0, 0, copts);
  }
  m_pending.push_back(Pending{Pending::Finish, {}, {}, 0, SIZE_MAX});
  return drain(m_opts.max_inflight);
}

Status Ingest::add_tensor(const SafetensorsFile& f, const format::TensorInfo& t,
                          format::ManifestTensor& mt) {
  const uint64_t start = f.header.data_start() + t.begin;
  const uint32_t cs = m_opts.chunk_size;
  const bool keep = t.size() <= m_opts.keep_limit;
  // Pass 1: hash (id and the file's SHA-256), keeping the bytes if small.
  IdHasher hasher;
  std::shared_ptr<ScratchBytes> kept;
  if (keep) {
    kept = idle_buffer(m_kept, 3);
    kept->resize(t.size());
    TRY_STATUS(read_exact_at(f.fd->get(), start, *kept, m_path));
    hasher.update(*kept);
    digest(kept);
  } else {
    for (uint64_t off = 0; off < t.size(); off += cs) {
      std::shared_ptr<ScratchBytes> buf = idle_buffer(m_chunks);
      buf->resize(std::min<uint64_t>(cs, t.size() - off));
      TRY_STATUS(read_exact_at(f.fd->get(), start + off, *buf, m_path));
      hasher.update(*buf);
      digest(buf);
      if (m_opts.on_progress) {
        m_opts.on_progress(m_read + off + buf->size());
      }
    }
  }
  m_read += t.size();
  if (m_opts.on_progress) {
    m_opts.on_progress(m_read);
  }
  mt.id = hasher.finish();
  mt.info = t;
  TensorReport rep{t.name, mt.id, t.size(), 0, false, false, ""};
  bool stored = TRY(have(mt.id, t.size(), [&](uint64_t off, std::span<uint8_t> out) -> Status {
    if (kept) {
      std::copy_n(kept->begin() + static_cast<ptrdiff_t>(off), out.size(), out.begin());
      return {};
    }
    return read_exact_at(f.fd->get(), start + off, out, m_path);
  }));
  if (stored) {
    rep.reused = true;
    m_report.tensors.push_back(rep);
    return {};
  }
  m_written.insert(mt.id);
  // Base: the tensor of the same name in the base model, if its dtype
  // matches and the chain would not grow too deep.
  const format::DtypeInfo& dt = format::dtype_info(t.dtype);
  format::ObjectHeader h;
  h.kind = format::ObjectKind::Tensor;
  h.dtype = t.dtype;
  h.raw_size = t.size();
  h.chunk_size = cs;
  h.id = mt.id;
  std::optional<ObjectId> base_id;
  const BaseTensor* bt = m_base ? m_base->find(t.name) : nullptr;
  if (bt && bt->id != mt.id && bt->dtype == t.dtype && bt->size > 0 && t.size() > 0) {
    // A base whose object cannot be read (missing, damaged) is no base:
    // the tensor is coded on its own, which is always correct.
    auto depth = m_resolver.depth_of(bt->id);
    if (depth && *depth + 1 <= format::k_max_depth) {
      base_id = bt->id;
      h.base_id = bt->id;
      h.base_size = bt->size;
      h.depth = static_cast<uint8_t>(*depth + 1);
      rep.base = bt->origin;
    }
  }
  m_report.tensors.push_back(rep);
  size_t report_index = m_report.tensors.size() - 1;
  m_pending.push_back(Pending{Pending::Begin, h, {}, 0, SIZE_MAX});
  // Pass 2: encode chunk by chunk.
  for (uint64_t off = 0; off < t.size(); off += cs) {
    uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(cs, t.size() - off));
    std::shared_ptr<const ScratchBytes> raw;
    size_t raw_off = 0;
    if (keep) {
      raw = kept;
      raw_off = off;
    } else {
      std::shared_ptr<ScratchBytes> buf = idle_buffer(m_chunks);
      buf->resize(len);
      TRY_STATUS(read_exact_at(f.fd->get(), start + off, *buf, m_path));
      raw = std::move(buf);
    }
    uint32_t base_len = 0;
    if (base_id && off < h.base_size) {
      base_len = static_cast<uint32_t>(std::min<uint64_t>(len, h.base_size - off));
    }
    queue_chunk(std::move(raw), raw_off, len, dt, base_id, off, base_len, m_opts.codec);
    TRY_STATUS(drain(m_opts.max_inflight));
  }
  m_pending.push_back(Pending{Pending::Finish, {}, {}, 0, report_index});
  return drain(m_opts.max_inflight);
}

Result<format::Manifest> Ingest::run_generic() {
  Fd fd = TRY(open_read(m_path));
  format::Manifest m;
  m.generic = true;
  m.size = TRY(file_size(fd.get(), m_path));
  m_report.raw_size = m.size;
  Buffer part;
  for (uint64_t off = 0; off < m.size; off += part.size()) {
    part.resize(static_cast<size_t>(std::min<uint64_t>(m_opts.generic_part, m.size - off)));
    TRY_STATUS(read_exact_at(fd.get(), off, part, m_path));
    digest(part);
    format::DataPart d{object_id_of(part), part.size()};
    TRY_STATUS(add_blob(part, d.id, /*bulk=*/true));
    m.data.push_back(d);
    if (m_opts.on_progress) {
      m_opts.on_progress(off + part.size());
    }
  }
  TRY_STATUS(drain(0));
  m.sha256 = TRY(finish_digest());
  TRY_STATUS(m_sink.finish());
  return m;
}

Result<format::Manifest> Ingest::run() {
  if (m_opts.allow_generic) {
    Fd fd = TRY(open_read(m_path));
    uint64_t size = TRY(file_size(fd.get(), m_path));
    uint8_t head[9] = {0};
    if (size < 9 || !read_exact_at(fd.get(), 0, std::span<uint8_t>(head, 9), m_path) ||
        !format::looks_like_safetensors(ByteView(head, 9), size)) {
      return run_generic();
    }
  }
  SafetensorsFile f = TRY(open_safetensors(m_path));
  format::Manifest m;
  m.size = f.size;
  m.header_len = f.header_json.size();
  m.header_id = object_id_of(f.header_json);
  digest(f.prefix);
  digest(f.header_json);
  m_read = 8 + f.header_json.size();
  TRY_STATUS(add_blob(f.header_json, m.header_id));
  m.tensors.resize(f.header.tensors.size());
  for (size_t i = 0; i < f.header.tensors.size(); ++i) {
    const auto& t = f.header.tensors[i];
    TRY_STATUS_CTX(add_tensor(f, t, m.tensors[i]), "tensor '" + t.name + "'");
    m_report.raw_size += t.size();
  }
  if (f.header.tail_size > 0) {
    Buffer tail(f.header.tail_size);
    TRY_STATUS(read_exact_at(f.fd->get(), f.size - tail.size(), tail, m_path));
    digest(tail);
    m.has_tail = true;
    m.tail_len = tail.size();
    m.tail_id = object_id_of(tail);
    TRY_STATUS(add_blob(tail, m.tail_id));
  }
  TRY_STATUS(drain(0));
  m.sha256 = TRY(finish_digest());
  TRY_STATUS(m_sink.finish());
  return m;
}

}  // namespace

Result<format::Manifest> ingest_file(const std::string& path, const BaseModel* base,
                                     const store::Resolver& resolver, store::ObjectSink& sink,
                                     ThreadPool& pool, const IngestOptions& opts,
                                     IngestReport* report) {
  IngestReport local;
  Ingest ingest(path, base, resolver, sink, pool, opts, report ? *report : local);
  auto r = ingest.run();
  if (!r) {
    Error e = std::move(r).error();
    return e.message.rfind(path + ":", 0) == 0 ? e : std::move(e).context(path);
  }
  return r;
}

}  // namespace zipllm::ops
