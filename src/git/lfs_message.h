// Messages of the Git LFS custom transfer protocol (one JSON object per
// line; docs: git-lfs's custom-transfers.md), parsed and validated before
// anything acts on them:
//
//   {"event":"init","operation":"upload"|"download","remote":NAME,...}
//   {"event":"upload","oid":HEX64,"size":N,"path":FILE,"action":{...}|null}
//   {"event":"download","oid":HEX64,"size":N,"action":{...}|null}
//   {"event":"terminate"}
//
// Pure (no I/O). A message git-lfs would never send (wrong types, a bad
// oid, no size) is an InvalidArgument error naming what is wrong; an
// unknown event is returned as such (the protocol says to ignore it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace zipllm::git {

struct LfsMessage {
  enum class Event { Init, Upload, Download, Terminate, Unknown } event = Event::Unknown;
  std::string event_name;
  std::string operation;  // init
  std::string remote;     // init
  std::string oid;        // upload, download: 64 lowercase hex digits
  uint64_t size = 0;      // upload, download
  std::string path;       // upload
  // The batch API's action (non-standalone mode), if any: href and headers.
  std::optional<std::string> href;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Lines longer than this are refused before parsing.
inline constexpr size_t k_max_lfs_message = 1 << 20;

Result<LfsMessage> parse_lfs_message(std::string_view line);

bool valid_lfs_oid(std::string_view oid);

}  // namespace zipllm::git
