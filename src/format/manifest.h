// Manifest, version 1: what git stores in place of a safetensors file.
// Canonical line-oriented text (docs/FORMAT.md §1):
//
//   manifest := "zipllm manifest v1\n"
//               "size " DEC "\n"
//               "sha256 " HEX64 "\n"
//               ( safetensors | generic )
//   safetensors := "header " ID " " DEC "\n"         header JSON object and length
//               ("tensor " ID " " DTYPE " " SHAPE " " DEC " " DEC " " NAME "\n")*
//               ("tail " ID " " DEC "\n")?           bytes after the last tensor
//   generic  := "generic\n" ("data " ID " " DEC "\n")*  any other file: consecutive
//               parts (each DEC > 0 bytes, summing to size) stored as blob objects
//   ID    := 32 lowercase hex digits (XXH3-128 of the raw bytes)
//   SHAPE := "[" (DEC ("," DEC)*)? "]"
//   NAME  := a JSON string literal (quoted, escaped)
//
// Tensor lines are in file order. A manifest is a pure function of the
// file's bytes: it names no base and no encoding. Parsing accepts exactly
// the bytes serialize() produces (anything else is an error), so
// serialize(parse(m)) == m.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "format/safetensors.h"
#include "util/hash.h"
#include "util/result.h"

namespace zipllm::format {

inline constexpr std::string_view k_manifest_magic = "zipllm manifest v1\n";
inline constexpr uint64_t k_max_manifest_size = 512ull << 20;

struct ManifestTensor {
  ObjectId id;
  TensorInfo info;
};

struct DataPart {
  ObjectId id;
  uint64_t len = 0;
};

struct Manifest {
  uint64_t size = 0;
  std::array<uint8_t, 32> sha256{};
  ObjectId header_id;
  uint64_t header_len = 0;
  std::vector<ManifestTensor> tensors;
  bool has_tail = false;
  ObjectId tail_id;
  uint64_t tail_len = 0;
  // A file that is not safetensors: its bytes in parts (header, tensors
  // and tail are then unused).
  bool generic = false;
  std::vector<DataPart> data;
};

std::string serialize_manifest(const Manifest& m);
Result<Manifest> parse_manifest(std::string_view text);
// Every object a manifest refers to: header, tensors in order, tail (or the
// data parts of a generic file).
std::vector<ObjectId> object_ids(const Manifest& m);
// Cheap check for "is this a manifest?" (the first line only).
bool looks_like_manifest(ByteView data);

}  // namespace zipllm::format
