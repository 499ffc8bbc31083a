#include "format/object.h"

#include <cstring>

namespace zipllm::format {

namespace {

constexpr char k_magic[4] = {'Z', 'L', 'L', 'O'};

template <class T>
void put(std::vector<uint8_t>& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) {
    out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i)));
  }
}

template <class T>
T get(const uint8_t* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v |= uint64_t(p[i]) << (8 * i);
  }
  return static_cast<T>(v);
}

Error corrupt(const std::string& msg) {
  return make_error(Errc::Corrupt, msg);
}

}  // namespace

uint32_t chunk_count_for(uint64_t raw_size, uint32_t chunk_size) {
  return static_cast<uint32_t>((raw_size + chunk_size - 1) / chunk_size);
}

uint32_t ObjectHeader::chunk_raw_size(uint32_t i) const {
  uint64_t off = chunk_offset(i);
  return static_cast<uint32_t>(std::min<uint64_t>(chunk_size, raw_size - off));
}

std::vector<uint8_t> serialize_object_header(const ObjectHeader& h) {
  std::vector<uint8_t> out;
  out.reserve(h.data_offset());
  out.insert(out.end(), k_magic, k_magic + 4);
  put<uint16_t>(out, k_object_version);
  put<uint8_t>(out, static_cast<uint8_t>(h.kind));
  put<uint8_t>(out, static_cast<uint8_t>(h.dtype));
  put<uint8_t>(out, h.depth);
  put<uint8_t>(out, 0);
  put<uint8_t>(out, 0);
  put<uint8_t>(out, 0);
  put<uint64_t>(out, h.raw_size);
  put<uint32_t>(out, h.chunk_size);
  put<uint32_t>(out, h.chunk_count());
  out.insert(out.end(), h.id.bytes.begin(), h.id.bytes.end());
  out.insert(out.end(), h.base_id.bytes.begin(), h.base_id.bytes.end());
  put<uint64_t>(out, h.base_size);
  std::vector<uint8_t> table;
  table.reserve(h.table_size());
  for (const auto& c : h.chunks) {
    put<uint32_t>(table, c.enc_size);
    put<uint64_t>(table, c.enc_sum);
    put<uint64_t>(table, c.raw_sum);
  }
  std::vector<uint8_t> summed(out);
  summed.insert(summed.end(), table.begin(), table.end());
  put<uint64_t>(out, checksum64(summed));
  out.insert(out.end(), table.begin(), table.end());
  return out;
}

Result<ObjectHeader> parse_object_prefix(ByteView p) {
  if (p.size() < k_object_header_size) {
    return corrupt("object shorter than its header");
  }
  if (std::memcmp(p.data(), k_magic, 4) != 0) {
    return corrupt("not a zipllm object (bad magic)");
  }
  uint16_t version = get<uint16_t>(p.data() + 4);
  if (version != k_object_version) {
    return make_error(Errc::Unsupported, "object format version " + std::to_string(version) +
                                             " (this build reads version 1)");
  }
  ObjectHeader h;
  uint8_t kind = p[6];
  if (kind != 1 && kind != 2) {
    return corrupt("unknown object kind " + std::to_string(kind));
  }
  h.kind = static_cast<ObjectKind>(kind);
  const DtypeInfo* dt = dtype_by_code(p[7]);
  if (!dt) {
    return corrupt("unknown dtype code " + std::to_string(p[7]));
  }
  h.dtype = dt->dtype;
  h.depth = p[8];
  h.raw_size = get<uint64_t>(p.data() + 12);
  h.chunk_size = get<uint32_t>(p.data() + 20);
  uint32_t count = get<uint32_t>(p.data() + 24);
  std::memcpy(h.id.bytes.data(), p.data() + 28, 16);
  std::memcpy(h.base_id.bytes.data(), p.data() + 44, 16);
  h.base_size = get<uint64_t>(p.data() + 60);
  if (h.depth > k_max_depth) {
    return corrupt("delta chain depth " + std::to_string(h.depth) + " exceeds the limit");
  }
  if (h.chunk_size == 0 || h.chunk_size > k_max_chunk_size || h.chunk_size % 8 != 0) {
    return corrupt("bad chunk size " + std::to_string(h.chunk_size));
  }
  if (h.raw_size > (uint64_t(1) << 50)) {
    return corrupt("raw size " + std::to_string(h.raw_size) + " is implausible");
  }
  if (count != chunk_count_for(h.raw_size, h.chunk_size)) {
    return corrupt("chunk count does not match the raw size");
  }
  if (h.has_base() != (h.depth > 0)) {
    return corrupt("base id and chain depth disagree");
  }
  h.chunks.resize(count);
  return h;
}

Status parse_object_table(ObjectHeader& h, ByteView prefix, ByteView table) {
  if (table.size() != h.table_size()) {
    return corrupt("chunk table truncated");
  }
  std::vector<uint8_t> summed(prefix.begin(), prefix.begin() + 68);
  summed.insert(summed.end(), table.begin(), table.end());
  uint64_t want = get<uint64_t>(prefix.data() + 68);
  if (checksum64(summed) != want) {
    return corrupt("header checksum mismatch");
  }
  for (size_t i = 0; i < h.chunks.size(); ++i) {
    const uint8_t* e = table.data() + i * k_chunk_entry_size;
    h.chunks[i].enc_size = get<uint32_t>(e);
    h.chunks[i].enc_sum = get<uint64_t>(e + 4);
    h.chunks[i].raw_sum = get<uint64_t>(e + 12);
    if (h.chunks[i].enc_size > h.chunk_raw_size(static_cast<uint32_t>(i)) + 1024 * 1024) {
      return corrupt("chunk " + std::to_string(i) + " encoded size is implausible");
    }
  }
  return {};
}

}  // namespace zipllm::format
