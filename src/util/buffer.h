// ScratchBytes: a byte vector whose resize() does not zero what it adds.
//
// For buffers that are overwritten right after they are sized (a pread, a
// chunk decode): zero-filling 4 MiB chunk buffers cost ~5 % of a restore.
// Large ones (2 MiB and more) are backed by transparent huge pages where
// the kernel offers them: a fresh 4 KiB page costs a fault, and in a VM a
// fault costs several microseconds (on one 2 GiB ingest, a quarter of a
// second of page faults just to populate its buffers).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace zipllm {

namespace detail {
inline constexpr size_t k_huge_page = size_t(2) << 20;
// Memory for n bytes, 2 MiB-aligned and advised for huge pages; freed with
// std::free. Throws std::bad_alloc.
void* alloc_huge(size_t n);
}  // namespace detail

template <class T>
struct UninitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <class U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}
  T* allocate(size_t n) {
    if (n * sizeof(T) >= detail::k_huge_page) {
      return static_cast<T*>(detail::alloc_huge(n * sizeof(T)));
    }
    return std::allocator<T>::allocate(n);
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n * sizeof(T) >= detail::k_huge_page) {
      std::free(p);
      return;
    }
    std::allocator<T>::deallocate(p, n);
  }
  // Value-initialization (what resize() asks for) becomes default-
  // initialization: nothing, for bytes.
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using ScratchBytes = std::vector<uint8_t, UninitAllocator<uint8_t>>;

}  // namespace zipllm
