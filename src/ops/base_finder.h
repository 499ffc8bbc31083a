// The base finder: which stored model a new safetensors file is closest to,
// judged by content, so fine-tunes are delta-coded without anyone
// declaring their base.
//
// Candidates are models the caller already has manifests for (git layer:
// git/base_choice.h). For each, the finder
//   1. checks the signature: the share of F's tensor bytes that have a
//      tensor of the same name and dtype in the candidate (coverage; a
//      grown leading dimension still counts, ingest deltas the common
//      prefix);
//   2. samples the same few KiB of each of F's largest tensors in both
//      (bounded: max_tensors blocks of sample_bytes), read from a file that
//      still holds the candidate's bytes when there is one, else decoded
//      from the store (fewer tensors then: decoding costs a chunk each);
//   3. rules the candidate out as unrelated when fewer than half of the
//      sampled float elements share their exponent (related models: ≥ 0.64
//      on the real families; a model retrained from scratch: ≤ 0.25);
//   4. scores it: estimated bits per element of F against it, from the
//      order-preserving integer keys the codec deltas (log2 of 1 + the
//      zigzagged key difference, per tensor at most the solo estimate),
//      relative to the estimate with no base.
// Lower ratio wins; near-ties go to the shallower delta chain, then to the
// candidate the caller ranked first. The estimate orders candidates well
// (on the real families it picks the best base in almost every case); it
// is not a size prediction, and ingest still keeps a delta per tensor only
// where it beats solo coding.
#pragma once

#include <span>

#include "format/manifest.h"
#include "ops/safetensors_file.h"
#include "store/resolver.h"

namespace zipllm::ops {

struct CandidateModel {
  std::string name;  // for reports: a path, "HEAD:path", a registered name
  // The model's manifests (several for a sharded model) and, per manifest,
  // a file that may hold the same bytes ("" if none): read when its size
  // and the tensor's place match, else the store is decoded.
  std::vector<format::Manifest> shards;
  std::vector<std::string> files;
  int rank = 0;  // lower is preferred at equal score
};

struct BaseScore {
  size_t index = 0;           // into the candidates given
  double coverage = 0;        // share of F's tensor bytes with a same-name, same-dtype tensor
  double exponent_match = 0;  // share of sampled float elements with the same exponent
  double ratio = 1;           // estimated bits against it / estimated bits alone (lower is better)
  uint64_t sampled = 0;       // elements compared
  uint8_t depth = 0;          // delta chain depth of its largest matching tensor
  bool related = false;       // usable as a base
  std::string why_not;        // when not related
};

struct FinderOptions {
  size_t max_tensors = 32;     // sampled tensors (F's largest)
  size_t max_decoded = 8;      // of those, decoded from the store per candidate
  size_t sample_bytes = 4096;  // per sampled tensor
  double min_coverage = 0.5;   // of F's tensor bytes
  double min_exponent_match = 0.5;
  double max_ratio = 0.97;  // a base that saves less is no base
};

// Scores every candidate; the result is sorted best first, unrelated ones
// last (with why_not set). Errors only for F itself (unreadable); a
// candidate that cannot be read is unrelated, with the reason.
Result<std::vector<BaseScore>> rank_bases(const SafetensorsFile& f,
                                          std::span<const CandidateModel> candidates,
                                          const store::Resolver& resolver,
                                          const FinderOptions& opts = {});

// The share of F's tensor bytes that `candidate` has a same-name,
// same-dtype tensor for: the cheap signature check, from manifests only.
double signature_coverage(const format::Header& f, const CandidateModel& candidate);

}  // namespace zipllm::ops
