// Fuzz target: whatever the manifest parser accepts re-serializes to the
// same bytes (clean(smudge(m)) == m depends on it).
#include <cstdlib>

#include "format/manifest.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zipllm;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto m = format::parse_manifest(text);
  if (m && format::serialize_manifest(*m) != text) {
    std::abort();
  }
  return 0;
}
