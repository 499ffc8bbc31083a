// Every environment variable git-zipllm reads, in one table: name, kind,
// default and meaning (HACKING.md and `git zipllm env` print it). Nothing
// else in the code calls getenv for a GIT_ZIPLLM_ variable. Values that do
// not parse fall back to the default.
//
// Lower layers never read the environment themselves where they can be
// told: main hands GIT_ZIPLLM_SIMD and GIT_ZIPLLM_GATHER to codec
// (ctx_rans::apply_settings).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zipllm::env {

enum class Var {
  Threads,               // worker threads for coding (all cores)
  Transfers,             // parallel transfers
  Retries,               // attempts per transfer
  Trace,                 // trace lines on stderr
  SkipSmudge,            // smudge passes manifests through
  Simd,                  // cap the context coder's kernel
  Gather,                // x86 kernels: gathers or scalar loads
  ConnectTimeoutMs,      // HTTP connect timeout
  PingTimeoutMs,         // how long a store's first answer may take
  StallSeconds,          // below 1 byte/s this long: a transfer error
  MaxSendSpeed,          // bytes/s cap for uploads
  S3MultipartThreshold,  // objects above go up in parts
  S3PartSize,            // part size of multipart uploads
  S3Checksum,            // send x-amz-checksum-sha256
  S3AllowHttp,           // credentials over plain http to other hosts
  DemoData,              // where `demo` finds its models
  ProgressDelayMs,       // how long before a progress line appears
};

struct Info {
  Var var;
  const char* name;
  const char* kind;      // "number", "flag", "string"
  const char* fallback;  // as text, for documentation
  const char* meaning;
};

// The whole table, in the order above.
const std::vector<Info>& table();
const Info& info(Var v);

std::optional<std::string> string(Var v);
// A whole number within [lo, hi]; `fallback` when unset or invalid.
uint64_t number(Var v, uint64_t fallback, uint64_t lo = 0, uint64_t hi = UINT64_MAX);
// "1", "true", "yes", "on" (any case).
bool flag(Var v);

}  // namespace zipllm::env
