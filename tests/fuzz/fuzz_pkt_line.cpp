// Fuzz target: the pkt-line reader on arbitrary bytes. It must never crash,
// allocate beyond a packet's limit or loop: every input ends in a clean end
// or an error. What it reads must round-trip through the writer.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

#include "fuzz_target.h"
#include "git/pkt_line.h"
#include "util/file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace zipllm;
  int in = ::memfd_create("in", MFD_CLOEXEC);
  int out = ::memfd_create("out", MFD_CLOEXEC);
  if (in < 0 || out < 0 || !write_all(in, std::span<const uint8_t>(data, size), "in") ||
      ::lseek(in, 0, SEEK_SET) != 0) {
    std::abort();
  }
  git::PktReader r(in);
  git::PktWriter w(out);
  std::vector<std::vector<uint8_t>> packets;
  for (size_t steps = 0;; ++steps) {
    if (steps > size + 1) {
      std::abort();  // every step consumes at least 4 bytes or ends
    }
    auto p = r.read_packet();
    if (!p) {
      break;
    }
    if (!*p) {
      continue;  // flush
    }
    if ((*p)->size() > git::k_max_pkt_payload) {
      std::abort();
    }
    if (!(*p)->empty() && !w.write_data(**p)) {
      std::abort();
    }
    packets.push_back(std::move(**p));
  }
  // Re-read what was written: the same non-empty payloads.
  if (::lseek(out, 0, SEEK_SET) != 0) {
    std::abort();
  }
  git::PktReader again(out);
  for (const auto& p : packets) {
    if (p.empty()) {
      continue;
    }
    auto q = again.read_packet();
    if (!q || !*q || **q != p) {
      std::abort();
    }
  }
  ::close(in);
  ::close(out);
  return 0;
}
