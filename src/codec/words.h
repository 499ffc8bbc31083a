// Word helpers shared by the chunk codec and the context coder: unaligned
// loads and stores, and the bijections deltas are computed in.
#pragma once

#include <cstdint>
#include <cstring>

namespace zipllm::codec {

template <class W>
inline W load_word(const uint8_t* p) {
  W w;
  std::memcpy(&w, p, sizeof(W));
  return w;
}

template <class W>
inline void store_word(uint8_t* p, W w) {
  std::memcpy(p, &w, sizeof(W));
}

template <class W>
inline constexpr W k_sign = W(W(1) << (8 * sizeof(W) - 1));

// Order-preserving bijection of IEEE sign-magnitude words onto unsigned
// integers: -max ... -0 +0 ... +max map to increasing values, so the
// difference of two keys counts the representable values between them.
// Branch-free: negative words flip every bit, positive ones only the sign.
template <class W>
inline W float_key(W x) {
  W neg = W(W(0) - W(x >> (8 * sizeof(W) - 1)));  // all ones if negative
  return W(x ^ W(neg | k_sign<W>));
}

template <class W>
inline W float_unkey(W k) {
  W low = W(W(k >> (8 * sizeof(W) - 1)) - W(1));  // all ones if the key is below the middle
  return W(k ^ W(low | k_sign<W>));
}

template <class W>
inline W zigzag(W d) {
  W neg = (d & k_sign<W>) ? W(~W(0)) : W(0);
  return W(W(d << 1) ^ neg);
}

template <class W>
inline W unzigzag(W z) {
  return W(W(z >> 1) ^ W(W(0) - W(z & 1)));
}

// The delta word of fine-tune word f against base word g, and its inverse.
template <class W, bool Float>
inline W delta_word(W f, W g) {
  if constexpr (Float) {
    f = float_key(f);
    g = float_key(g);
  }
  return zigzag<W>(W(f - g));
}

template <class W, bool Float>
inline W undelta_word(W z, W g) {
  if constexpr (Float) {
    return float_unkey<W>(W(float_key<W>(g) + unzigzag<W>(z)));
  } else {
    return W(g + unzigzag<W>(z));
  }
}

}  // namespace zipllm::codec
