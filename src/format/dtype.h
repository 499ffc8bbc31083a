// The safetensors element types and the facts the codecs need about each.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace zipllm::format {

enum class Dtype : uint8_t {
  Bool = 1,
  U8,
  I8,
  F8_E5M2,
  F8_E4M3,
  F8_E8M0,
  I16,
  U16,
  F16,
  BF16,
  I32,
  U32,
  F32,
  I64,
  U64,
  F64,
  C64,
  F4,
  F6_E2M3,
  F6_E3M2,
};

struct DtypeInfo {
  Dtype dtype;
  std::string_view name;  // as spelled in safetensors headers
  uint8_t bits;           // bits per element (4 and 6 for the sub-byte floats)
  uint8_t word;           // codec word size in bytes: 1, 2, 4 or 8
  uint8_t exp_bits;       // IEEE-style exponent width; 0 for integers and opaque types
  uint8_t mant_bits;      // mantissa width below the exponent
};

// Returns nullptr for names not in the safetensors spec.
const DtypeInfo* dtype_by_name(std::string_view name);
// Returns nullptr for codes no version of the format assigned.
const DtypeInfo* dtype_by_code(uint8_t code);
const DtypeInfo& dtype_info(Dtype d);

}  // namespace zipllm::format
