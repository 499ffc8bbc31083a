// A whole safetensors file in memory, for the bench tools (which exit on a
// file they cannot read).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "format/safetensors.h"
#include "util/file.h"

namespace zipllm::bench {

struct Loaded {
  std::vector<uint8_t> bytes;
  format::Header header;
};

[[noreturn]] inline void load_failed(const char* path, const std::string& why) {
  std::fprintf(stderr, "%s: %s\n", path, why.c_str());
  std::exit(1);
}

inline Loaded load_safetensors(const char* path) {
  Loaded l;
  auto bytes = read_whole_file(path, 1ull << 36);
  if (!bytes) {
    load_failed(path, bytes.error().message);
  }
  l.bytes = std::move(*bytes);
  if (l.bytes.size() < 8) {
    load_failed(path, "shorter than a safetensors header");
  }
  auto n = format::parse_header_length(ByteView(l.bytes.data(), 8), l.bytes.size());
  if (!n) {
    load_failed(path, n.error().message);
  }
  auto h = format::parse_header(ByteView(l.bytes.data() + 8, *n), l.bytes.size());
  if (!h) {
    load_failed(path, h.error().message);
  }
  l.header = std::move(*h);
  return l;
}

// The tensors of a header by name.
inline std::map<std::string, const format::TensorInfo*> tensors_by_name(const format::Header& h) {
  std::map<std::string, const format::TensorInfo*> by_name;
  for (const auto& t : h.tensors) {
    by_name[t.name] = &t;
  }
  return by_name;
}

}  // namespace zipllm::bench
