#include "store/object_io.h"

namespace zipllm::store {

Result<ObjectReader> ObjectReader::open(const ObjectLocation& loc, const ObjectId& expect_id) {
  auto ctx = "object " + expect_id.hex() + " (" + loc.where + ")";
  ObjectReader r;
  r.m_loc = loc;
  if (loc.length < format::k_object_header_size) {
    return make_error(Errc::Corrupt,
                      ctx + ": truncated (" + std::to_string(loc.length) + " bytes)");
  }
  std::vector<uint8_t> prefix(format::k_object_header_size);
  TRY_STATUS_CTX(read_exact_at(loc.fd->get(), loc.offset, prefix, loc.where), ctx);
  r.m_header = TRY_CTX(format::parse_object_prefix(prefix), ctx);
  if (r.m_header.id != expect_id) {
    return make_error(Errc::Corrupt, ctx + ": holds object " + r.m_header.id.hex());
  }
  uint64_t table_size = r.m_header.table_size();
  if (table_size > loc.length - format::k_object_header_size) {
    return make_error(Errc::Corrupt, ctx + ": chunk table truncated");
  }
  std::vector<uint8_t> table(table_size);
  TRY_STATUS_CTX(
      read_exact_at(loc.fd->get(), loc.offset + format::k_object_header_size, table, loc.where),
      ctx);
  TRY_STATUS_CTX(format::parse_object_table(r.m_header, prefix, table), ctx);
  uint64_t pos = r.m_header.data_offset();
  r.m_chunk_pos.reserve(r.m_header.chunks.size());
  for (const auto& c : r.m_header.chunks) {
    r.m_chunk_pos.push_back(pos);
    pos += c.enc_size;
  }
  if (pos != loc.length) {
    return make_error(Errc::Corrupt, ctx + ": size " + std::to_string(loc.length) +
                                         " does not match its chunk table (" + std::to_string(pos) +
                                         ")");
  }
  return r;
}

Status ObjectReader::read_chunk_into(uint32_t i, ScratchBytes& enc) const {
  const auto& c = m_header.chunks.at(i);
  enc.resize(c.enc_size);
  TRY_STATUS(read_exact_at(m_loc.fd->get(), m_loc.offset + m_chunk_pos[i], enc, m_loc.where));
  if (checksum64(enc) != c.enc_sum) {
    return make_error(Errc::Corrupt, "object " + m_header.id.hex() + " (" + m_loc.where +
                                         "): chunk " + std::to_string(i) + " checksum mismatch");
  }
  return {};
}

Status check_encoded(const ObjectLocation& loc, const ObjectId& id) {
  auto reader = ObjectReader::open(loc, id);
  if (!reader) {
    Error e = std::move(reader).error();
    e.code = e.code == Errc::IoError || e.code == Errc::NotFound ? e.code : Errc::Corrupt;
    return e;
  }
  ScratchBytes enc;
  for (uint32_t i = 0; i < reader->header().chunk_count(); ++i) {
    TRY_STATUS(reader->read_chunk_into(i, enc));
  }
  return {};
}

Result<ObjectWriter> ObjectWriter::begin(std::unique_ptr<ObjectOutput> out,
                                         format::ObjectHeader header) {
  ObjectWriter w;
  w.m_out = std::move(out);
  w.m_header = std::move(header);
  w.m_header.chunks.assign(format::chunk_count_for(w.m_header.raw_size, w.m_header.chunk_size), {});
  std::vector<uint8_t> placeholder(w.m_header.data_offset(), 0);
  TRY_STATUS(w.m_out->append(placeholder));
  w.m_size = placeholder.size();
  return w;
}

Status ObjectWriter::append_chunk(ByteView encoded, uint64_t raw_sum, bool used_base) {
  if (m_next >= m_header.chunks.size()) {
    return make_error(Errc::Internal, "object writer: too many chunks");
  }
  m_header.chunks[m_next++] = {static_cast<uint32_t>(encoded.size()), checksum64(encoded), raw_sum};
  m_used_base = m_used_base || used_base;
  m_size += encoded.size();
  return m_out->append(encoded);
}

Result<uint64_t> ObjectWriter::finish() {
  if (m_next != m_header.chunks.size()) {
    return make_error(Errc::Internal, "object writer: missing chunks");
  }
  if (!m_used_base) {
    m_header.base_id = ObjectId{};
    m_header.base_size = 0;
    m_header.depth = 0;
  }
  TRY_STATUS(m_out->write_at(0, format::serialize_object_header(m_header)));
  TRY_STATUS(m_out->commit());
  return m_size;
}

}  // namespace zipllm::store
