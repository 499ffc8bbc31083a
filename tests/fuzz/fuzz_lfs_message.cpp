// Fuzz target: the LFS custom transfer message parser. Any bytes: no crash,
// no exception; what it accepts is a well-formed message (a valid oid for
// transfers, a path for uploads).
#include <cstdlib>

#include "fuzz_target.h"
#include "git/lfs_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zipllm::git;
  auto m = parse_lfs_message(std::string_view(reinterpret_cast<const char*>(data), size));
  if (m && (m->event == LfsMessage::Event::Upload || m->event == LfsMessage::Event::Download)) {
    if (!valid_lfs_oid(m->oid) || (m->event == LfsMessage::Event::Upload && m->path.empty())) {
      std::abort();
    }
  }
  if (!m && m.error().message.empty()) {
    std::abort();
  }
  return 0;
}
