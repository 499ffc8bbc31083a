// ScratchBytes: a byte vector whose resize() does not zero what it adds.
//
// For buffers that are overwritten right after they are sized (a pread, a
// chunk decode): zero-filling 4 MiB chunk buffers cost ~5 % of a restore.
#pragma once

#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace zipllm {

template <class T>
struct UninitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <class U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}
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
