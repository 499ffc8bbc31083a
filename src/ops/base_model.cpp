#include "ops/base_model.h"

namespace zipllm::ops {

namespace {

Result<ObjectId> hash_range(const SafetensorsFile& f, uint64_t offset, uint64_t size) {
  return hash_file_range(f.fd->get(), offset, size, f.path);
}

}  // namespace

Status BaseModel::add_file(const std::string& path, store::Resolver& resolver, ThreadPool* pool) {
  SafetensorsFile f = TRY(open_safetensors(path));
  std::vector<std::future<Result<ObjectId>>> ids;
  std::vector<Result<ObjectId>> done;
  for (const auto& t : f.header.tensors) {
    uint64_t start = f.header.data_start() + t.begin, size = t.size();
    if (pool) {
      ids.push_back(pool->submit([&f, start, size] { return hash_range(f, start, size); }));
    } else {
      done.push_back(hash_range(f, start, size));
    }
  }
  for (auto& fut : ids) {
    done.push_back(fut.get());
  }
  for (size_t i = 0; i < f.header.tensors.size(); ++i) {
    const auto& t = f.header.tensors[i];
    if (!done[i]) {
      return done[i].error();
    }
    BaseTensor bt{*done[i], t.dtype, t.size(), path};
    if (m_by_name.count(t.name)) {
      return make_error(Errc::InvalidArgument, path + ": tensor '" + t.name + "' is also in " +
                                                   m_by_name[t.name].origin +
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
