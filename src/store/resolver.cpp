#include "store/resolver.h"

#include "codec/chunk.h"

#include <algorithm>
#include <cstring>

namespace zipllm::store {

const RawTensor* Resolver::raw_tensor(const ObjectId& id) const {
  auto it = m_raw.find(id);
  return it == m_raw.end() ? nullptr : &it->second;
}

bool Resolver::contains(const ObjectId& id) const {
  if (m_raw.count(id)) {
    return true;
  }
  return std::any_of(m_sources.begin(), m_sources.end(),
                     [&](const ObjectSource* s) { return s->contains(id); });
}

Result<ObjectReader> Resolver::open(const ObjectId& id) const {
  for (const ObjectSource* s : m_sources) {
    auto loc = TRY(s->locate(id));
    if (loc) {
      return ObjectReader::open(*loc, id);
    }
  }
  return make_error(Errc::NotFound, "object " + id.hex() + " is missing from the store");
}

Result<uint8_t> Resolver::depth_of(const ObjectId& id) const {
  if (m_raw.count(id) || verified_candidate(id)) {
    return uint8_t{0};
  }
  ObjectReader r = TRY(open(id));
  return r.header().depth;
}

void Resolver::add_raw_candidate(const ObjectId& id, RawTensor t) {
  if (m_raw.count(id) || m_candidates.count(id)) {
    return;
  }
  auto c = std::make_unique<Candidate>();
  c->tensor = std::move(t);
  m_candidates.emplace(id, std::move(c));
}

const RawTensor* Resolver::verified_candidate(const ObjectId& id) const {
  auto it = m_candidates.find(id);
  if (it == m_candidates.end()) {
    return nullptr;
  }
  Candidate& c = *it->second;
  std::call_once(c.checked, [&] {
    IdHasher h;
    std::vector<uint8_t> buf(std::min<uint64_t>(c.tensor.size, 4u << 20));
    for (uint64_t off = 0; off < c.tensor.size; off += buf.size()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), c.tensor.size - off));
      if (!read_exact_at(c.tensor.fd->get(), c.tensor.offset + off, std::span<uint8_t>(buf.data(), n),
                         c.tensor.where)) {
        return;
      }
      h.update(std::span<const uint8_t>(buf.data(), n));
    }
    c.ok = h.finish() == id;
  });
  return c.ok ? &c.tensor : nullptr;
}

const RawTensor* Resolver::raw_source(const ObjectId& id) const {
  const RawTensor* t = raw_tensor(id);
  return t ? t : verified_candidate(id);
}

Status Resolver::read_raw(const ObjectId& id, uint64_t offset, std::span<uint8_t> out) const {
  if (const RawTensor* t = raw_source(id)) {
    if (offset > t->size || out.size() > t->size - offset) {
      return make_error(Errc::Internal, "read past the end of " + t->where);
    }
    return read_exact_at(t->fd->get(), t->offset + offset, out, t->where);
  }
  ObjectReader r = TRY(open(id));
  const auto& h = r.header();
  if (offset > h.raw_size || out.size() > h.raw_size - offset) {
    return make_error(Errc::Corrupt, "object " + id.hex() + ": read past its end");
  }
  uint64_t pos = offset;
  size_t done = 0;
  while (done < out.size()) {
    uint32_t i = static_cast<uint32_t>(pos / h.chunk_size);
    std::vector<uint8_t> raw = TRY(decode_chunk(r, i));
    uint64_t in_chunk = pos - h.chunk_offset(i);
    size_t take = std::min<uint64_t>(raw.size() - in_chunk, out.size() - done);
    std::memcpy(out.data() + done, raw.data() + in_chunk, take);
    done += take;
    pos += take;
  }
  return {};
}

Result<std::vector<uint8_t>> Resolver::decode_chunk(const ObjectReader& r, uint32_t i) const {
  const auto& h = r.header();
  std::vector<uint8_t> enc = TRY(r.read_chunk(i));
  codec::ChunkMode mode = TRY_CTX(codec::chunk_mode(enc), "object " + h.id.hex());
  std::vector<uint8_t> base;
  uint64_t off = h.chunk_offset(i);
  uint32_t len = h.chunk_raw_size(i);
  if (mode == codec::ChunkMode::Delta || mode == codec::ChunkMode::Split) {
    if (!h.has_base()) {
      return make_error(Errc::Corrupt, "object " + h.id.hex() + ": delta chunk without a base");
    }
    uint8_t base_depth = TRY_CTX(depth_of(h.base_id), "object " + h.id.hex() + ": base");
    if (base_depth >= h.depth) {
      return make_error(Errc::Corrupt, "object " + h.id.hex() + ": base " + h.base_id.hex() +
                                           " has chain depth " + std::to_string(base_depth) +
                                           ", not below " + std::to_string(h.depth));
    }
    if (off < h.base_size) {
      base.resize(std::min<uint64_t>(len, h.base_size - off));
      TRY_STATUS_CTX(read_raw(h.base_id, off, base), "object " + h.id.hex() + ": base");
    }
  }
  std::vector<uint8_t> raw(len);
  TRY_STATUS_CTX(codec::decode_chunk(enc, base, format::dtype_info(h.dtype), raw),
                 "object " + h.id.hex() + " chunk " + std::to_string(i));
  if (checksum64(raw) != h.chunks[i].raw_sum) {
    return make_error(Errc::Corrupt, "object " + h.id.hex() + " (" + r.where() + "): chunk " +
                                         std::to_string(i) + " decodes to the wrong bytes");
  }
  return raw;
}

}  // namespace zipllm::store
