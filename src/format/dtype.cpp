#include "format/dtype.h"

#include <array>

namespace zipllm::format {

namespace {

// A word's sign bit is its top bit when exp_bits > 0. Sub-byte floats (F4,
// F6_*) are packed, so the codecs treat them as opaque bytes.
constexpr std::array<DtypeInfo, 20> k_dtypes{{
    {Dtype::Bool, "BOOL", 8, 1, 0, 0},       {Dtype::U8, "U8", 8, 1, 0, 0},
    {Dtype::I8, "I8", 8, 1, 0, 0},           {Dtype::F8_E5M2, "F8_E5M2", 8, 1, 5, 2},
    {Dtype::F8_E4M3, "F8_E4M3", 8, 1, 4, 3}, {Dtype::F8_E8M0, "F8_E8M0", 8, 1, 0, 0},
    {Dtype::I16, "I16", 16, 2, 0, 0},        {Dtype::U16, "U16", 16, 2, 0, 0},
    {Dtype::F16, "F16", 16, 2, 5, 10},       {Dtype::BF16, "BF16", 16, 2, 8, 7},
    {Dtype::I32, "I32", 32, 4, 0, 0},        {Dtype::U32, "U32", 32, 4, 0, 0},
    {Dtype::F32, "F32", 32, 4, 8, 23},       {Dtype::I64, "I64", 64, 8, 0, 0},
    {Dtype::U64, "U64", 64, 8, 0, 0},        {Dtype::F64, "F64", 64, 8, 11, 52},
    {Dtype::C64, "C64", 64, 4, 8, 23},  // a pair of F32
    {Dtype::F4, "F4", 4, 1, 0, 0},           {Dtype::F6_E2M3, "F6_E2M3", 6, 1, 0, 0},
    {Dtype::F6_E3M2, "F6_E3M2", 6, 1, 0, 0},
}};

}  // namespace

const DtypeInfo* dtype_by_name(std::string_view name) {
  for (const auto& d : k_dtypes) {
    if (d.name == name) {
      return &d;
    }
  }
  return nullptr;
}

const DtypeInfo* dtype_by_code(uint8_t code) {
  for (const auto& d : k_dtypes) {
    if (static_cast<uint8_t>(d.dtype) == code) {
      return &d;
    }
  }
  return nullptr;
}

const DtypeInfo& dtype_info(Dtype d) {
  return *dtype_by_code(static_cast<uint8_t>(d));
}

}  // namespace zipllm::format
