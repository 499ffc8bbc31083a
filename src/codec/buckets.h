// The exponent buckets of delta chunks (modes 2 and 4, docs/FORMAT.md §3):
// which sub-stream each element goes to, computed from the base chunk, and
// mode 4's bucket table. Internal to the codec (chunk.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "codec/words.h"
#include "format/dtype.h"
#include "util/hash.h"
#include "util/result.h"

namespace zipllm::codec::buckets {

// Exponent sub-streams: which bucket each element goes to, derived from the
// base chunk alone so the decoder can recompute it. Bucket 0 collects every
// exponent seen fewer than `threshold` times; the others, in increasing
// exponent order, get one bucket each. Within a bucket, elements keep their
// order.
//
// The element loops walk four quarters of the chunk at once, each quarter
// with its own bucket cursors (`lane_next`), so four independent dependency
// chains run in parallel instead of one serialized on a cursor. The stream
// layout is the same as a single sequential pass.
constexpr size_t k_quarters = 4;

struct Buckets {
  std::vector<uint16_t> bucket_of;  // exponent -> bucket (empty: one bucket)
  std::vector<uint16_t> exps;       // the exponents of buckets 1, 2, ... (increasing)
  std::vector<uint32_t> counts;     // elements per bucket
  std::array<std::vector<uint32_t>, k_quarters> lane_next;  // per-quarter cursors
  size_t quarter = 0;  // elements per lane; the last lane also takes the rest
  unsigned shift = 0;
  uint32_t emask = 0;
};

template <class W>
Buckets make_buckets(const uint8_t* base, size_t n, const format::DtypeInfo& dt,
                     uint32_t threshold) {
  Buckets b;
  b.quarter = n / k_quarters;
  if (threshold == 0 || dt.exp_bits == 0) {
    b.counts = {static_cast<uint32_t>(n)};
    return b;
  }
  b.emask = (1u << dt.exp_bits) - 1;
  b.shift = dt.mant_bits;
  const size_t stride = b.emask + 1;
  std::vector<uint32_t> hist(k_quarters * stride, 0);
  for (size_t t = 0; t < b.quarter; ++t) {
    for (size_t q = 0; q < k_quarters; ++q) {
      size_t i = q * b.quarter + t;
      hist[q * stride + ((load_word<W>(base + i * sizeof(W)) >> b.shift) & b.emask)]++;
    }
  }
  for (size_t i = k_quarters * b.quarter; i < n; ++i) {
    hist[(k_quarters - 1) * stride + ((load_word<W>(base + i * sizeof(W)) >> b.shift) & b.emask)]++;
  }
  b.bucket_of.assign(stride, 0);
  b.counts.push_back(0);
  for (uint32_t e = 0; e < stride; ++e) {
    uint32_t c = 0;
    for (size_t q = 0; q < k_quarters; ++q) {
      c += hist[q * stride + e];
    }
    if (c >= threshold) {
      b.bucket_of[e] = static_cast<uint16_t>(b.counts.size());
      b.exps.push_back(static_cast<uint16_t>(e));
      b.counts.push_back(c);
    } else {
      b.counts[0] += c;
    }
  }
  std::vector<uint32_t> pos(b.counts.size(), 0);
  for (size_t k = 1; k < pos.size(); ++k) {
    pos[k] = pos[k - 1] + b.counts[k - 1];
  }
  for (size_t q = 0; q < k_quarters; ++q) {
    b.lane_next[q] = pos;
    for (uint32_t e = 0; e < stride; ++e) {
      pos[b.bucket_of[e]] += hist[q * stride + e];
    }
  }
  return b;
}

// Calls step(i, cursors) for every element, four lanes interleaved; each
// lane visits its own elements in order.
template <class Step>
void for_each_lane(Buckets& b, size_t n, Step&& step) {
  uint32_t* __restrict c0 = b.lane_next[0].data();
  uint32_t* __restrict c1 = b.lane_next[1].data();
  uint32_t* __restrict c2 = b.lane_next[2].data();
  uint32_t* __restrict c3 = b.lane_next[3].data();
  const size_t q = b.quarter;
  for (size_t t = 0; t < q; ++t) {
    step(t, c0);
    step(q + t, c1);
    step(2 * q + t, c2);
    step(3 * q + t, c3);
  }
  for (size_t i = k_quarters * q; i < n; ++i) {
    step(i, c3);
  }
}

// Where quarter k's cursor for bucket j must end: the next quarter's start,
// or for the last quarter the bucket's end. `lane_start` is the cursors'
// state before the elements are placed.
uint32_t lane_end(const Buckets& b, const std::array<std::vector<uint32_t>, k_quarters>& lane_start,
                  size_t k, size_t j);

// The bucket table of a mode-4 delta chunk (docs/FORMAT.md §3): the
// exponents that have their own bucket, then for each quarter of the chunk
// the number of its elements in each bucket.
void put_bucket_table(const Buckets& b,
                      const std::array<std::vector<uint32_t>, k_quarters>& lane_start,
                      std::vector<uint8_t>& out);

// Reads a bucket table into cursors for n elements. The counts are checked
// for consistency here (every quarter adds up to its length); whether they
// match the base's exponents is checked after placing (lanes_consumed).
Result<Buckets> read_bucket_table(ByteView enc, size_t& pos, size_t n, const format::DtypeInfo& dt);

// After placing: did every quarter take exactly its counted elements from
// each bucket (so the table matched the base's exponents)?
bool lanes_consumed(const Buckets& b,
                    const std::array<std::vector<uint32_t>, k_quarters>& lane_start);

}  // namespace zipllm::codec::buckets
