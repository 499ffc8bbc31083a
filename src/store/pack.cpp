#include "store/pack.h"

#include <cstring>

#include "format/manifest.h"

namespace zipllm::store {

namespace {

constexpr char k_magic[4] = {'Z', 'L', 'L', 'P'};

void put64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
}

uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= uint64_t(p[i]) << (8 * i);
  }
  return v;
}

}  // namespace

class PackOutput : public ObjectOutput {
 public:
  PackOutput(PackWriter& w, ObjectId id) : m_w(w), m_id(id), m_start(w.m_file.size()) {}
  ~PackOutput() override { m_w.m_open = false; }
  Status append(ByteView data) override { return m_w.m_file.write(data); }
  Status write_at(uint64_t offset, ByteView data) override {
    return m_w.m_file.pwrite(m_start + offset, data);
  }
  Status commit() override {
    m_w.m_index[m_id] = {m_start, m_w.m_file.size() - m_start};
    return {};
  }

 private:
  PackWriter& m_w;
  ObjectId m_id;
  uint64_t m_start;
};

Result<std::unique_ptr<PackWriter>> PackWriter::open_new(const std::string& path) {
  AtomicFile f = TRY(AtomicFile::create(path, 0644));
  std::vector<uint8_t> head(k_magic, k_magic + 4);
  head.push_back(1);
  head.push_back(0);
  head.push_back(0);
  head.push_back(0);
  TRY_STATUS(f.write(head));
  return std::unique_ptr<PackWriter>(new PackWriter(std::move(f)));
}

Result<std::unique_ptr<ObjectOutput>> PackWriter::create(const ObjectId& id, uint64_t) {
  if (m_open) {
    return make_error(Errc::Internal, "pack writer: two objects open at once");
  }
  m_open = true;
  return std::unique_ptr<ObjectOutput>(new PackOutput(*this, id));
}

Status PackWriter::publish(const std::string& manifest) {
  uint64_t manifest_offset = m_file.size();
  TRY_STATUS(
      m_file.write(ByteView(reinterpret_cast<const uint8_t*>(manifest.data()), manifest.size())));
  uint64_t index_offset = m_file.size();
  std::vector<uint8_t> index;
  for (const auto& [id, loc] : m_index) {
    index.insert(index.end(), id.bytes.begin(), id.bytes.end());
    put64(index, loc.first);
    put64(index, loc.second);
  }
  TRY_STATUS(m_file.write(index));
  std::vector<uint8_t> summed(manifest.begin(), manifest.end());
  summed.insert(summed.end(), index.begin(), index.end());
  std::vector<uint8_t> trailer;
  put64(trailer, manifest_offset);
  put64(trailer, manifest.size());
  put64(trailer, index_offset);
  put64(trailer, m_index.size());
  put64(trailer, checksum64(summed));
  trailer.insert(trailer.end(), k_magic, k_magic + 4);
  TRY_STATUS(m_file.write(trailer));
  return m_file.commit();
}

Result<std::unique_ptr<PackReader>> PackReader::open(const std::string& path) {
  Fd fd = TRY(open_read(path));
  uint64_t size = TRY(file_size(fd.get(), path));
  auto corrupt = [&](const std::string& msg) {
    return make_error(Errc::Corrupt, path + ": not a valid zipllm pack: " + msg);
  };
  uint8_t head[8];
  if (size < 8 + k_pack_trailer_size) {
    return corrupt("file too short");
  }
  TRY_STATUS(read_exact_at(fd.get(), 0, head, path));
  if (std::memcmp(head, k_magic, 4) != 0) {
    return corrupt("bad magic");
  }
  if (head[4] != 1 || head[5] != 0) {
    return make_error(Errc::Unsupported, path + ": pack version " + std::to_string(head[4]) +
                                             " (this build reads version 1)");
  }
  uint8_t t[k_pack_trailer_size];
  TRY_STATUS(read_exact_at(fd.get(), size - k_pack_trailer_size, t, path));
  if (std::memcmp(t + 40, k_magic, 4) != 0) {
    return corrupt("bad trailer (truncated file?)");
  }
  uint64_t moff = get64(t), mlen = get64(t + 8), ioff = get64(t + 16), count = get64(t + 24);
  uint64_t end = size - k_pack_trailer_size;
  if (mlen > format::k_max_manifest_size || moff < 8 || moff > end || mlen > end - moff ||
      ioff != moff + mlen || count > (end - ioff) / 32 || ioff + count * 32 != end) {
    return corrupt("trailer offsets out of range");
  }
  std::vector<uint8_t> body(mlen + count * 32);
  TRY_STATUS(read_exact_at(fd.get(), moff, body, path));
  if (checksum64(body) != get64(t + 32)) {
    return corrupt("manifest/index checksum mismatch");
  }
  auto r = std::unique_ptr<PackReader>(new PackReader());
  r->m_path = path;
  r->m_manifest.assign(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(mlen));
  for (uint64_t i = 0; i < count; ++i) {
    const uint8_t* e = body.data() + mlen + i * 32;
    ObjectId id;
    std::memcpy(id.bytes.data(), e, 16);
    uint64_t off = get64(e + 16), len = get64(e + 24);
    if (off < 8 || off > moff || len > moff - off) {
      return corrupt("index entry out of range");
    }
    r->m_index[id] = {off, len};
  }
  return r;
}

std::vector<ObjectId> PackReader::ids() const {
  std::vector<ObjectId> out;
  for (const auto& [id, loc] : m_index) {
    out.push_back(id);
  }
  return out;
}

Result<std::optional<ObjectLocation>> PackReader::locate(const ObjectId& id) const {
  auto it = m_index.find(id);
  if (it == m_index.end()) {
    return std::optional<ObjectLocation>();
  }
  // Held only while a location uses it: a store may have thousands of
  // packs, more than a process may keep open; and shared meanwhile, for a
  // restore of thousands of small tensors has hundreds of them in flight.
  std::shared_ptr<const Fd> fd;
  {
    std::lock_guard lock(m_fd_mu);
    fd = m_fd.lock();
    if (!fd) {
      fd = std::make_shared<const Fd>(TRY(open_read(m_path)));
      m_fd = fd;
    }
  }
  return std::optional<ObjectLocation>(
      ObjectLocation{std::move(fd), it->second.first, it->second.second, m_path});
}

}  // namespace zipllm::store
