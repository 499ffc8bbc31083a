#include "store/resolver.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "codec/chunk.h"

namespace zipllm::store {

const RawTensor* Resolver::raw_tensor(const ObjectId& id) const {
  std::shared_lock lock(*m_raw_mu);
  auto it = m_raw.find(id);
  return it == m_raw.end() ? nullptr : &it->second;
}

bool Resolver::contains(const ObjectId& id) const {
  if (raw_tensor(id)) {
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
  return make_error(Errc::NotFound, "object " + id.hex() + " is missing from the store" +
                                        (m_missing_hint.empty() ? "" : "; " + m_missing_hint));
}

Result<uint8_t> Resolver::depth_of(const ObjectId& id) const {
  if (raw_tensor(id) || verified_candidate(id)) {
    return uint8_t{0};
  }
  ObjectReader r = TRY(open(id));
  return r.header().depth;
}

Result<uint64_t> Resolver::raw_size(const ObjectId& id) const {
  if (const RawTensor* t = raw_source(id)) {
    return t->size;
  }
  ObjectReader r = TRY(open(id));
  return r.header().raw_size;
}

void Resolver::add_raw_candidate(const ObjectId& id, RawTensor t) {
  std::unique_lock lock(*m_raw_mu);
  if (m_raw.count(id) || m_candidates.count(id)) {
    return;
  }
  auto c = std::make_unique<Candidate>();
  c->tensor = std::move(t);
  m_candidates.emplace(id, std::move(c));
}

const RawTensor* Resolver::verified_candidate(const ObjectId& id) const {
  Candidate* found = nullptr;
  {
    std::shared_lock lock(*m_raw_mu);
    auto it = m_candidates.find(id);
    if (it == m_candidates.end()) {
      return nullptr;
    }
    found = it->second.get();
  }
  Candidate& c = *found;  // hashed once, outside the lock
  std::call_once(c.checked, [&] {
    const RawTensor& t = c.tensor;
    auto got = hash_file_range(t.fd->get(), t.offset, t.size, t.where);
    c.ok = got && *got == id;
  });
  return c.ok ? &c.tensor : nullptr;
}

const RawTensor* Resolver::raw_source(const ObjectId& id) const {
  const RawTensor* t = raw_tensor(id);
  return t ? t : verified_candidate(id);
}

namespace {

// Decode buffers each thread reuses, one set per chain depth: decoding a
// delta chunk decodes its base's chunk one level down while the upper
// level's buffers are still in use.
struct Scratch {
  ScratchBytes enc;    // the encoded chunk
  ScratchBytes base;   // the base bytes it is decoded against
  ScratchBytes whole;  // a whole chunk, when a read wants only part of it
};

Scratch& scratch(uint8_t depth) {
  thread_local std::array<Scratch, format::k_max_depth + 1> s;
  return s[depth];
}

}  // namespace

Status Resolver::read_raw(const ObjectId& id, uint64_t offset, std::span<uint8_t> out) const {
  if (const RawTensor* t = raw_source(id)) {
    if (offset > t->size || out.size() > t->size - offset) {
      return make_error(Errc::Internal, "read past the end of " + t->where);
    }
    return read_exact_at(t->fd->get(), t->offset + offset, out, t->where);
  }
  return read_object(TRY(open(id)), offset, out);
}

Status Resolver::read_object(const ObjectReader& r, uint64_t offset, std::span<uint8_t> out) const {
  const auto& h = r.header();
  if (offset > h.raw_size || out.size() > h.raw_size - offset) {
    return make_error(Errc::Corrupt, "object " + h.id.hex() + ": read past its end");
  }
  uint64_t pos = offset;
  size_t done = 0;
  while (done < out.size()) {
    uint32_t i = static_cast<uint32_t>(pos / h.chunk_size);
    uint64_t in_chunk = pos - h.chunk_offset(i);
    uint32_t len = h.chunk_raw_size(i);
    size_t take = std::min<uint64_t>(len - in_chunk, out.size() - done);
    if (take == len) {
      // A whole chunk (the usual case: a base chunk at the same offset):
      // straight into place.
      TRY_STATUS(decode_chunk_into(r, i, out.subspan(done, take)));
    } else {
      ScratchBytes& whole = scratch(h.depth).whole;
      whole.resize(len);
      TRY_STATUS(decode_chunk_into(r, i, whole));
      std::memcpy(out.data() + done, whole.data() + in_chunk, take);
    }
    done += take;
    pos += take;
  }
  return {};
}

Result<std::vector<uint8_t>> Resolver::decode_chunk(const ObjectReader& r, uint32_t i) const {
  std::vector<uint8_t> raw(r.header().chunk_raw_size(i));
  TRY_STATUS(decode_chunk_into(r, i, raw));
  return raw;
}

Status Resolver::decode_chunk_into(const ObjectReader& r, uint32_t i, std::span<uint8_t> out,
                                   bool check_sum) const {
  const auto& h = r.header();
  Scratch& s = scratch(h.depth);
  TRY_STATUS(r.read_chunk_into(i, s.enc));
  codec::ChunkMode mode = TRY_CTX(codec::chunk_mode(s.enc), "object " + h.id.hex());
  uint64_t off = h.chunk_offset(i);
  uint32_t len = h.chunk_raw_size(i);
  if (out.size() != len) {
    return make_error(Errc::Internal, "object " + h.id.hex() + ": chunk " + std::to_string(i) +
                                          " decoded into a buffer of the wrong size");
  }
  ByteView base;
  if (codec::needs_base(mode)) {
    if (!h.has_base()) {
      return make_error(Errc::Corrupt, "object " + h.id.hex() + ": delta chunk without a base");
    }
    // The base is a raw tensor (depth 0) or an object, opened once here for
    // both its depth and its bytes.
    const RawTensor* t = raw_source(h.base_id);
    std::optional<ObjectReader> base_object;
    if (!t) {
      base_object.emplace(TRY_CTX(open(h.base_id), "object " + h.id.hex() + ": base"));
    }
    uint8_t base_depth = base_object ? base_object->header().depth : 0;
    if (base_depth >= h.depth) {
      return make_error(Errc::Corrupt, "object " + h.id.hex() + ": base " + h.base_id.hex() +
                                           " has chain depth " + std::to_string(base_depth) +
                                           ", not below " + std::to_string(h.depth));
    }
    if (off < h.base_size) {
      // Raw base tensors are read (pread) into this thread's buffer, not
      // mapped: see hash_file_range.
      const uint64_t want = std::min<uint64_t>(len, h.base_size - off);
      s.base.resize(want);
      TRY_STATUS_CTX(
          base_object ? read_object(*base_object, off, s.base) : read_raw(h.base_id, off, s.base),
          "object " + h.id.hex() + ": base");
      base = s.base;
    }
  }
  TRY_STATUS_CTX(codec::decode_chunk(s.enc, base, format::dtype_info(h.dtype), out),
                 "object " + h.id.hex() + " chunk " + std::to_string(i));
  if (check_sum && checksum64(out) != h.chunks[i].raw_sum) {
    return make_error(Errc::Corrupt, "object " + h.id.hex() + " (" + r.where() + "): chunk " +
                                         std::to_string(i) + " decodes to the wrong bytes");
  }
  return {};
}

}  // namespace zipllm::store
