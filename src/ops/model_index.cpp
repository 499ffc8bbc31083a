#include "ops/model_index.h"

#include <algorithm>
#include <map>

#include "util/file.h"
#include "util/hash.h"

namespace zipllm::ops {

namespace {

constexpr const char* k_built_marker = "index/sig/.built-v1";

std::string hex64(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) {
    out[static_cast<size_t>(i)] = digits[v & 15];
  }
  return out;
}

std::vector<std::string> keys_of(std::vector<const format::TensorInfo*> tensors) {
  std::sort(tensors.begin(), tensors.end(), [](const auto* a, const auto* b) {
    return a->size() != b->size() ? a->size() > b->size() : a->name < b->name;
  });
  std::vector<std::string> out;
  for (const auto* t : tensors) {
    if (out.size() == k_signature_keys) {
      break;
    }
    std::string key = signature_key(*t);
    if (std::find(out.begin(), out.end(), key) == out.end()) {
      out.push_back(std::move(key));
    }
  }
  return out;
}

}  // namespace

std::string signature_key(const format::TensorInfo& t) {
  std::string text(format::dtype_info(t.dtype).name);
  text.push_back('\0');
  text += t.name;
  return hex64(checksum64(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
}

std::vector<std::string> signature_keys(const format::Header& h) {
  std::vector<const format::TensorInfo*> ts;
  for (const auto& t : h.tensors) {
    ts.push_back(&t);
  }
  return keys_of(std::move(ts));
}

std::vector<std::string> signature_keys(const format::Manifest& m) {
  std::vector<const format::TensorInfo*> ts;
  for (const auto& t : m.tensors) {
    ts.push_back(&t.info);
  }
  return keys_of(std::move(ts));
}

std::string model_key(const std::array<uint8_t, 32>& sha256) {
  return "models/" + Sha256::hex(sha256);
}

std::string index_prefix(const std::string& key) {
  return "index/sig/" + key + "/";
}

void ModelIndex::add(const format::Manifest& m) {
  if (m.generic || m.tensors.empty() || has(m.sha256)) {
    return;
  }
  std::string hex = Sha256::hex(m.sha256);
  for (const auto& key : signature_keys(m)) {
    std::string dir = m_root + "/" + index_prefix(key);
    if (!make_dirs(dir)) {
      return;
    }
    if (auto f = AtomicFile::create(dir + hex, 0644, /*durable=*/false); !f || !f->commit()) {
      return;
    }
  }
  std::string text = format::serialize_manifest(m);
  if (!make_dirs(m_root + "/models")) {
    return;
  }
  auto f = AtomicFile::create(m_root + "/" + model_key(m.sha256), 0644, /*durable=*/false);
  if (f && f->write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()),
                                             text.size()))) {
    (void)f->commit();
  }
}

bool ModelIndex::has(const std::array<uint8_t, 32>& sha256) const {
  return is_plain_file(m_root + "/" + model_key(sha256));
}

std::vector<std::string> most_shared(const std::vector<std::vector<std::string>>& per_key) {
  std::map<std::string, size_t> hits;  // model -> keys it shares
  for (const auto& names : per_key) {
    for (const auto& name : names) {
      if (Sha256::from_hex(name)) {
        ++hits[name];
      }
    }
  }
  std::vector<std::pair<size_t, std::string>> order;
  for (auto& [hex, n] : hits) {
    order.emplace_back(n, hex);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& [n, hex] : order) {
    out.push_back(std::move(hex));
  }
  return out;
}

std::vector<format::Manifest> ModelIndex::lookup(std::span<const std::string> keys,
                                                 size_t max) const {
  std::vector<std::vector<std::string>> per_key;
  for (const auto& key : keys) {
    auto& names = per_key.emplace_back();
    for (const auto& entry : list_dir(m_root + "/" + index_prefix(key))) {
      names.push_back(entry.substr(entry.rfind('/') + 1));
    }
  }
  std::vector<format::Manifest> out;
  for (const auto& hex : most_shared(per_key)) {
    if (out.size() == max) {
      break;
    }
    auto bytes = read_whole_file(m_root + "/models/" + hex, format::k_max_manifest_size);
    if (!bytes) {
      continue;
    }
    auto m = format::parse_manifest(std::string(bytes->begin(), bytes->end()));
    if (m && !m->generic && Sha256::hex(m->sha256) == hex) {
      out.push_back(std::move(*m));
    }
  }
  return out;
}

bool ModelIndex::built() const {
  return is_plain_file(m_root + "/" + k_built_marker);
}

void ModelIndex::mark_built() const {
  if (make_dirs(m_root + "/index/sig")) {
    if (auto f = AtomicFile::create(m_root + "/" + k_built_marker, 0644, /*durable=*/false)) {
      (void)f->commit();
    }
  }
}

}  // namespace zipllm::ops
