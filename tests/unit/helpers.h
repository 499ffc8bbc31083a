// Test helpers: build safetensors files in memory, scratch directories.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "format/dtype.h"
#include "util/file.h"

namespace zipllm::test {

struct FakeTensor {
  std::string name;
  std::string dtype;
  std::vector<uint64_t> shape;
  std::vector<uint8_t> data;
};

// A valid safetensors file with the tensors laid out in the given order.
inline std::vector<uint8_t> make_safetensors(const std::vector<FakeTensor>& ts,
                                             const std::string& metadata_json = "",
                                             size_t pad_to = 8,
                                             const std::vector<uint8_t>& tail = {}) {
  std::string header = "{";
  if (!metadata_json.empty()) {
    header += "\"__metadata__\":" + metadata_json;
  }
  uint64_t off = 0;
  for (const auto& t : ts) {
    if (header.size() > 1) {
      header += ",";
    }
    nlohmann::json shape = t.shape;
    header += nlohmann::json(t.name).dump() + ":{\"dtype\":\"" + t.dtype +
              "\",\"shape\":" + shape.dump() + ",\"data_offsets\":[" + std::to_string(off) + "," +
              std::to_string(off + t.data.size()) + "]}";
    off += t.data.size();
  }
  header += "}";
  while (pad_to > 1 && header.size() % pad_to != 0) {
    header += ' ';
  }
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i));
  }
  out.insert(out.end(), header.begin(), header.end());
  for (const auto& t : ts) {
    out.insert(out.end(), t.data.begin(), t.data.end());
  }
  out.insert(out.end(), tail.begin(), tail.end());
  return out;
}

inline std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) {
    b = static_cast<uint8_t>(rng());
  }
  return v;
}

// BF16 weights ~ N(0, scale) and a "fine-tune" of them: each weight moved by
// a small relative amount, as full fine-tuning does.
inline std::vector<uint8_t> bf16_weights(size_t n, uint64_t seed, float scale = 0.02f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<uint8_t> v(n * 2);
  for (size_t i = 0; i < n; ++i) {
    float f = d(rng);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    uint16_t b = static_cast<uint16_t>(u >> 16);
    v[2 * i] = static_cast<uint8_t>(b);
    v[2 * i + 1] = static_cast<uint8_t>(b >> 8);
  }
  return v;
}

// Each BF16 weight of `base` moved by N(0, sigma): times (1 + that) when
// `relative`, plus that otherwise.
inline std::vector<uint8_t> bf16_moved(const std::vector<uint8_t>& base, uint64_t seed, float sigma,
                                       bool relative) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<uint8_t> v(base.size());
  for (size_t i = 0; i + 1 < base.size(); i += 2) {
    uint32_t u = uint32_t(base[i] | base[i + 1] << 8) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    f = relative ? f * (1.0f + d(rng)) : f + d(rng);
    std::memcpy(&u, &f, 4);
    uint16_t b = static_cast<uint16_t>(u >> 16);
    v[i] = static_cast<uint8_t>(b);
    v[i + 1] = static_cast<uint8_t>(b >> 8);
  }
  return v;
}

inline std::vector<uint8_t> bf16_finetune(const std::vector<uint8_t>& base, uint64_t seed,
                                          float rel = 0.01f) {
  return bf16_moved(base, seed, rel, true);
}

// A fine-tune as optimisers make one: every weight moved by about the same
// absolute amount, N(0, step), whatever its size.
inline std::vector<uint8_t> bf16_steps(const std::vector<uint8_t>& base, uint64_t seed,
                                       float step) {
  return bf16_moved(base, seed, step, false);
}

// A scratch directory removed on success; kept (and printed) when a test
// fails so the evidence survives.
class ScratchDir {
 public:
  ScratchDir() {
    auto base = std::filesystem::temp_directory_path() / "zipllm-test-XXXXXX";
    std::string t = base.string();
    m_path = ::mkdtemp(t.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  std::string path(const std::string& name = "") const {
    return name.empty() ? m_path : m_path + "/" + name;
  }

 private:
  std::string m_path;
};

// A fresh git repository (`git init`) that Repo::open() finds: GIT_DIR and
// GIT_WORK_TREE point at it until the object dies.
class TempRepo {
 public:
  TempRepo() {
    std::string cmd = "git init -q '" + m_dir.path() + "' >/dev/null 2>&1";
    m_ok = std::system(cmd.c_str()) == 0;
    ::setenv("GIT_DIR", (m_dir.path() + "/.git").c_str(), 1);
    ::setenv("GIT_WORK_TREE", m_dir.path().c_str(), 1);
  }
  ~TempRepo() {
    ::unsetenv("GIT_DIR");
    ::unsetenv("GIT_WORK_TREE");
  }
  bool ok() const { return m_ok; }
  std::string path(const std::string& name = "") const { return m_dir.path(name); }

 private:
  ScratchDir m_dir;
  bool m_ok = false;
};

inline void write_file(const std::string& path, const std::vector<uint8_t>& data) {
  auto f = AtomicFile::create(path, 0644);
  (void)f->write(data);
  (void)f->commit();
}

}  // namespace zipllm::test
