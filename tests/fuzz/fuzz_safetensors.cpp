// Fuzz target: the safetensors header reader must reject or accept any
// input without crashing, and what it accepts must be self-consistent.
#include <cstdlib>

#include "format/safetensors.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zipllm;
  ByteView in(data, size);
  auto n = format::parse_header_length(in.first(std::min<size_t>(8, size)), size);
  if (!n) {
    return 0;
  }
  auto h = format::parse_header(in.subspan(8, *n), size);
  if (!h) {
    return 0;
  }
  uint64_t pos = 0;
  for (const auto& t : h->tensors) {
    if (t.begin != pos || t.end > h->data_size) {
      std::abort();
    }
    pos = t.end;
  }
  if (pos + h->tail_size != h->data_size) {
    std::abort();
  }
  return 0;
}
