#include "ops/base_model.h"

namespace zipllm::ops {

Status BaseModel::add_file(const std::string& path, store::Resolver& resolver) {
  SafetensorsFile f = TRY(open_safetensors(path));
  std::vector<uint8_t> buf;
  for (const auto& t : f.header.tensors) {
    IdHasher hasher;
    constexpr uint64_t k_step = 8u << 20;
    for (uint64_t off = 0; off < t.size(); off += k_step) {
      buf.resize(std::min(k_step, t.size() - off));
      TRY_STATUS(read_exact_at(f.fd->get(), f.header.data_start() + t.begin + off, buf, path));
      hasher.update(buf);
    }
    BaseTensor bt{hasher.finish(), t.dtype, t.size(), path};
    if (m_by_name.count(t.name)) {
      return make_error(Errc::InvalidArgument, path + ": tensor '" + t.name +
                                                   "' is also in " + m_by_name[t.name].origin +
                                                   " (base shards overlap)");
    }
    m_by_name.emplace(t.name, bt);
    resolver.add_raw(bt.id, store::RawTensor{f.fd, f.header.data_start() + t.begin, t.size(),
                                             t.dtype, path + ": tensor '" + t.name + "'"});
  }
  return {};
}

Status BaseModel::add_manifest(const format::Manifest& m, const std::string& origin) {
  for (const auto& t : m.tensors) {
    if (m_by_name.count(t.info.name)) {
      return make_error(Errc::InvalidArgument, origin + ": tensor '" + t.info.name +
                                                   "' is also in " + m_by_name[t.info.name].origin +
                                                   " (base shards overlap)");
    }
    m_by_name.emplace(t.info.name, BaseTensor{t.id, t.info.dtype, t.info.size(), origin});
  }
  return {};
}

const BaseTensor* BaseModel::find(const std::string& name) const {
  auto it = m_by_name.find(name);
  return it == m_by_name.end() ? nullptr : &it->second;
}

}  // namespace zipllm::ops
