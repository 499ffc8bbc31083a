#include "util/env.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace zipllm::env {

const std::vector<Info>& table() {
  static const std::vector<Info> t = {
      {Var::Threads, "GIT_ZIPLLM_THREADS", "number", "usable cores",
       "worker threads for encoding and decoding (1-256; default: the CPUs taskset allows)"},
      {Var::Transfers, "GIT_ZIPLLM_TRANSFERS", "number", "8",
       "objects moved to or from a remote store at once (1-64)"},
      {Var::Retries, "GIT_ZIPLLM_RETRIES", "number", "5",
       "attempts per transfer on transient errors (1-20)"},
      {Var::Trace, "GIT_ZIPLLM_TRACE", "flag", "off",
       "trace lines on stderr (what a clean did, prefetches, agent messages)"},
      {Var::SkipSmudge, "GIT_ZIPLLM_SKIP_SMUDGE", "flag", "off",
       "smudge leaves manifests in the work tree (then `git zipllm checkout` writes the files)"},
      {Var::Simd, "GIT_ZIPLLM_SIMD", "string", "best",
       "cap the context coder's kernel: scalar or avx2 (for measuring)"},
      {Var::Gather, "GIT_ZIPLLM_GATHER", "string", "auto",
       "x86 kernels' table lookups: on (gather instructions) or off (scalar loads); auto: "
       "loads on AMD, gathers elsewhere (for measuring)"},
      {Var::ConnectTimeoutMs, "GIT_ZIPLLM_CONNECT_TIMEOUT_MS", "number", "10000",
       "HTTP connect timeout, ms"},
      {Var::PingTimeoutMs, "GIT_ZIPLLM_PING_TIMEOUT_MS", "number", "10000",
       "how long a store may take to answer its first request, ms"},
      {Var::StallSeconds, "GIT_ZIPLLM_STALL_SECONDS", "number", "60",
       "a transfer below 1 byte/s for this long fails"},
      {Var::MaxSendSpeed, "GIT_ZIPLLM_MAX_SEND_SPEED", "number", "unlimited",
       "upload speed cap, bytes/s"},
      {Var::S3MultipartThreshold, "GIT_ZIPLLM_S3_MULTIPART_THRESHOLD", "number", "268435456",
       "S3 objects above this many bytes go up in parts (at most 5 GiB)"},
      {Var::S3PartSize, "GIT_ZIPLLM_S3_PART_SIZE", "number", "67108864",
       "part size of S3 multipart uploads (5 MiB-5 GiB; grown so no object needs 10,000 parts)"},
      {Var::S3Checksum, "GIT_ZIPLLM_S3_CHECKSUM", "flag", "off",
       "send x-amz-checksum-sha256 with each single-PUT upload, so the store checks what it got"},
      {Var::S3AllowHttp, "GIT_ZIPLLM_S3_ALLOW_HTTP", "flag", "off",
       "allow AWS credentials over plain http:// to other machines (like zipllm.s3allowhttp)"},
      {Var::DemoData, "GIT_ZIPLLM_DEMO_DATA", "string", "installed demo",
       "folder of models `git zipllm demo` uses"},
      {Var::ProgressDelayMs, "GIT_ZIPLLM_PROGRESS_DELAY_MS", "number", "500",
       "milliseconds an operation runs before its progress line (or, in a log, its summary) "
       "appears (0-60000)"},
  };
  return t;
}

const Info& info(Var v) {
  return table()[static_cast<size_t>(v)];
}

std::optional<std::string> string(Var v) {
  const char* s = std::getenv(info(v).name);
  if (!s || !*s) {
    return std::nullopt;
  }
  return std::string(s);
}

uint64_t number(Var v, uint64_t fallback, uint64_t lo, uint64_t hi) {
  auto s = string(v);
  if (!s) {
    return fallback;
  }
  char* end = nullptr;
  unsigned long long n = std::strtoull(s->c_str(), &end, 10);
  if (!end || *end != '\0' || (*s)[0] == '-' || n < lo || n > hi) {
    return fallback;
  }
  return n;
}

bool flag(Var v) {
  auto s = string(v);
  if (!s) {
    return false;
  }
  std::string l = *s;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  return l == "1" || l == "true" || l == "yes" || l == "on";
}

}  // namespace zipllm::env
