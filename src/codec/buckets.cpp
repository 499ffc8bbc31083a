#include "codec/buckets.h"

#include "codec/ints.h"

namespace zipllm::codec::buckets {

// Where quarter k's cursor for bucket j must end: the next quarter's start,
// or for the last quarter the bucket's end. `lane_start` is the cursors'
// state before the elements are placed.
uint32_t lane_end(const Buckets& b, const std::array<std::vector<uint32_t>, k_quarters>& lane_start,
                  size_t k, size_t j) {
  return k + 1 < k_quarters ? lane_start[k + 1][j] : lane_start[0][j] + b.counts[j];
}

// The bucket table of a mode-4 delta chunk (docs/FORMAT.md §3): the
// exponents that have their own bucket, then for each quarter of the chunk
// the number of its elements in each bucket.
void put_bucket_table(const Buckets& b,
                      const std::array<std::vector<uint32_t>, k_quarters>& lane_start,
                      std::vector<uint8_t>& out) {
  const size_t nb = b.counts.size();
  put_varint(out, b.exps.size());
  for (uint16_t e : b.exps) {
    put_varint(out, e);
  }
  for (size_t k = 0; k < k_quarters; ++k) {
    for (size_t j = 0; j < nb; ++j) {
      put_varint(out, lane_end(b, lane_start, k, j) - lane_start[k][j]);
    }
  }
}

// Reads a bucket table into cursors for n elements. The counts are checked
// for consistency here (every quarter adds up to its length); whether they
// match the base's exponents is checked after placing (lanes_consumed).
Result<Buckets> read_bucket_table(ByteView enc, size_t& pos, size_t n,
                                  const format::DtypeInfo& dt) {
  if (dt.exp_bits == 0) {
    return make_error(Errc::Corrupt, "bucket table for a dtype without exponents");
  }
  Buckets b;
  b.quarter = n / k_quarters;
  b.emask = (1u << dt.exp_bits) - 1;
  b.shift = dt.mant_bits;
  b.bucket_of.assign(b.emask + 1, 0);
  uint64_t nb = TRY(get_varint(enc, pos));
  if (nb > b.emask + 1) {
    return make_error(Errc::Corrupt, "bucket table lists too many exponents");
  }
  for (uint64_t j = 0; j < nb; ++j) {
    uint64_t e = TRY(get_varint(enc, pos));
    if (e > b.emask || (!b.exps.empty() && e <= b.exps.back())) {
      return make_error(Errc::Corrupt, "bucket table: exponents out of range or order");
    }
    b.exps.push_back(static_cast<uint16_t>(e));
    b.bucket_of[e] = static_cast<uint16_t>(j + 1);
  }
  const size_t buckets = nb + 1;
  std::array<std::vector<uint64_t>, k_quarters> lane_counts;
  std::vector<uint64_t> totals(buckets, 0);
  for (size_t k = 0; k < k_quarters; ++k) {
    const uint64_t lane_len = k + 1 < k_quarters ? b.quarter : n - (k_quarters - 1) * b.quarter;
    uint64_t sum = 0;
    for (size_t j = 0; j < buckets; ++j) {
      uint64_t c = TRY(get_varint(enc, pos));
      if (c > lane_len - sum) {
        return make_error(Errc::Corrupt, "bucket table: counts exceed their quarter");
      }
      sum += c;
      totals[j] += c;
      lane_counts[k].push_back(c);
    }
    if (sum != lane_len) {
      return make_error(Errc::Corrupt, "bucket table: counts do not add up to their quarter");
    }
  }
  uint64_t start = 0;
  for (size_t k = 0; k < k_quarters; ++k) {
    b.lane_next[k].resize(buckets);
  }
  for (size_t j = 0; j < buckets; ++j) {
    b.counts.push_back(static_cast<uint32_t>(totals[j]));
    uint64_t at = start;
    for (size_t k = 0; k < k_quarters; ++k) {
      b.lane_next[k][j] = static_cast<uint32_t>(at);
      at += lane_counts[k][j];
    }
    start += totals[j];
  }
  return b;
}

// After placing: did every quarter take exactly its counted elements from
// each bucket (so the table matched the base's exponents)?
bool lanes_consumed(const Buckets& b,
                    const std::array<std::vector<uint32_t>, k_quarters>& lane_start) {
  for (size_t k = 0; k < k_quarters; ++k) {
    for (size_t j = 0; j < b.counts.size(); ++j) {
      if (b.lane_next[k][j] != lane_end(b, lane_start, k, j)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace zipllm::codec::buckets
