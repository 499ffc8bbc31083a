// Strict safetensors header reader.
//
// File grammar (all integers little-endian):
//   file   := N:u64 header:byte[N] data:byte[*]
//   header := JSON object { "__metadata__"?: {str: str}, name: tensor, ... }
//             followed by optional ASCII spaces (padding)
//   tensor := { "dtype": DTYPE, "shape": [u64...], "data_offsets": [begin, end] }
// Offsets are relative to the start of `data`. We require what the reference
// implementation promises: every tensor's byte length equals
// product(shape) * bits(dtype) / 8, and the tensors, sorted by offset, cover
// data from 0 contiguously with no overlap. Bytes after the last tensor are
// allowed and kept as the file's tail so restores are byte-exact.
//
// Pure: parses memory, never touches files. Errors name the tensor and the
// problem; callers prepend the file name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/dtype.h"
#include "util/hash.h"
#include "util/result.h"

namespace zipllm::format {

// The reference implementation refuses headers above 100 MB; so do we, before
// allocating anything.
inline constexpr uint64_t k_max_header_size = 100'000'000;
inline constexpr uint64_t k_max_tensors = 10'000'000;

struct TensorInfo {
  std::string name;
  Dtype dtype;
  std::vector<uint64_t> shape;
  uint64_t begin = 0;  // offsets relative to the data section
  uint64_t end = 0;
  uint64_t size() const { return end - begin; }
};

struct Header {
  uint64_t header_len = 0;          // N
  std::vector<TensorInfo> tensors;  // sorted by offset
  uint64_t data_size = 0;           // file size - 8 - N
  uint64_t tail_size = 0;           // bytes after the last tensor
  uint64_t data_start() const { return 8 + header_len; }
  uint64_t file_size() const { return 8 + header_len + data_size; }
};

// Validates the 8-byte prefix against the file size and returns N.
// Whether a file of `file_size` bytes starting with `first9` is meant to be
// safetensors: a plausible header length (≤ 100 MB) and a JSON object after it. A file
// that looks like one but fails to parse is malformed, not "something else".
bool looks_like_safetensors(ByteView first9, uint64_t file_size);
Result<uint64_t> parse_header_length(ByteView prefix8, uint64_t file_size);

// Parses and validates the header JSON (exactly N bytes) for a file of
// `file_size` bytes.
Result<Header> parse_header(ByteView header_json, uint64_t file_size);

std::string shape_string(const std::vector<uint64_t>& shape);  // "[512,64]"

}  // namespace zipllm::format
