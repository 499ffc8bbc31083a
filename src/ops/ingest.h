// Ingest: a safetensors file -> a manifest plus the encoded objects it
// needs, written to an ObjectSink (the local store, a pack).
//
// Memory is bounded by construction: the file is read chunk by chunk
// (pread), at most `max_inflight` raw bytes are queued for encoding, and
// tensors larger than `keep_limit` are read twice (once to hash, once to
// encode) instead of being held. Peak ~ keep_limit + 3 * max_inflight.
//
// Identical tensors are stored once: a tensor whose id the sink (or the
// resolver) already has is not encoded again.
#pragma once

#include <functional>

#include "codec/chunk.h"
#include "format/manifest.h"
#include "ops/base_model.h"
#include "store/resolver.h"
#include "util/thread_pool.h"

namespace zipllm::ops {

struct IngestOptions {
  codec::EncodeOptions codec{};
  uint32_t chunk_size = format::k_default_chunk_size;
  uint64_t max_inflight = 64u << 20;
  uint64_t keep_limit = 64u << 20;
  // A file that does not look like safetensors at all (not a truncated or
  // malformed one) is stored as a generic file: parts of generic_part bytes,
  // deduplicated by id, compressed. Otherwise it is an error.
  bool allow_generic = false;
  uint64_t generic_part = 64u << 20;
  // Called with bytes read so far (for progress); may be empty.
  std::function<void(uint64_t)> on_progress;
  // The XXH3-128 of the bytes the caller received (git's clean stream):
  // the file ingest reads must hash to it, else nothing is returned (an
  // IoError saying the file changed), so a manifest always describes
  // exactly the received bytes.
  std::optional<ObjectId> expect_content_id;
};

struct TensorReport {
  std::string name;
  ObjectId id;
  uint64_t raw_size = 0;
  uint64_t stored_size = 0;  // bytes written for this tensor (0 if reused)
  bool reused = false;       // already present: nothing written
  bool delta = false;        // encoded against a base
  std::string base;          // where the base came from
};

struct IngestReport {
  uint64_t raw_size = 0;
  uint64_t stored_size = 0;  // bytes of new objects written
  std::vector<TensorReport> tensors;
};

// `base` may be null. `resolver` must resolve every base tensor id.
Result<format::Manifest> ingest_file(const std::string& path, const BaseModel* base,
                                     const store::Resolver& resolver, store::ObjectSink& sink,
                                     ThreadPool& pool, const IngestOptions& opts,
                                     IngestReport* report);

}  // namespace zipllm::ops
