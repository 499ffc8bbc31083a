#include "util/buffer.h"

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace zipllm::detail {

void* alloc_huge(size_t n) {
  const size_t size = (n + k_huge_page - 1) / k_huge_page * k_huge_page;
  void* p = std::aligned_alloc(k_huge_page, size);
  if (!p) {
    throw std::bad_alloc();
  }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Advice only: without THP (or with it off) the pages stay 4 KiB.
  (void)madvise(p, size, MADV_HUGEPAGE);
#endif
  return p;
}

}  // namespace zipllm::detail
