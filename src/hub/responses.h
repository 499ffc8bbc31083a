// Pieces the hub's source files share (not an interface of the hub layer):
// answers in Git LFS's JSON shape, the checks every endpoint makes.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "hub/service.h"
#include "util/hash.h"

namespace zipllm::hub::detail {

using nlohmann::json;

inline int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline bool valid_oid(const std::string& oid) {
  return Sha256::from_hex(oid).has_value();
}

inline HttpResponse message(int status, const std::string& text) {
  HttpResponse r;
  r.status = status;
  r.body = json{{"message", text}}.dump();
  return r;
}

inline HttpResponse json_response(const json& j) {
  HttpResponse r;
  r.body = j.dump();
  return r;
}

inline bool no_space(const Error& e) {
  return e.message.find("No space left") != std::string::npos ||
         e.message.find("Disk quota") != std::string::npos ||
         e.message.find("File too large") != std::string::npos;
}

// The answer when the store fails us: 507 full, 503 the shared store
// unreachable (a retry may work), 500 otherwise.
inline HttpResponse store_failure(const Error& e) {
  return message(no_space(e) ? 507 : e.code == Errc::Unavailable ? 503 : 500, e.message);
}

// The answer to an upload that got no slot: the hub is stopping, or too
// many uploads are in flight and waiting.
inline HttpResponse too_busy(bool stopping) {
  if (stopping) {
    return message(503, "the hub is stopping; retry shortly");
  }
  HttpResponse busy = message(429, "too many uploads in flight and waiting; retry shortly");
  busy.headers.emplace_back("Retry-After", "2");
  return busy;
}

}  // namespace zipllm::hub::detail
