// One HTTP exchange through libcurl: the plumbing the S3 store and the AWS
// credential providers share. A request body comes from a file range or a
// string; a 2xx response body goes to a file descriptor or a string, other
// bodies are kept (up to 64 KiB) for error messages. Connections stay open
// between requests of the same thread (one reused easy handle per thread).
// Thread-safe: every thread uses its own handle.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "util/result.h"

namespace zipllm::remote::http {

struct Request {
  std::string method = "GET";  // GET HEAD PUT POST DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given
  long timeout_ms = 0;  // the whole exchange; 0: none (bodies may be large)
  long connect_timeout_ms = 10000;
  long stall_seconds = 60;      // below 1 byte/s for this long: an error
  uint64_t max_send_speed = 0;  // bytes/s, 0: unlimited
  // Body: `in_length` bytes at `in_offset` of `in_fd`, or `body`.
  int in_fd = -1;
  uint64_t in_offset = 0;
  uint64_t in_length = 0;
  std::string body;
  // 2xx response body: appended to `out_fd` if set, else to Response::body.
  int out_fd = -1;
  std::string out_name;  // for error messages
  // Bytes moved (sent or received into out_fd), as they move.
  std::function<void(uint64_t)> counter;
};

struct Response {
  long status = 0;
  int64_t length = -1;                         // Content-Length, if sent
  std::string body;                            // non-2xx, or 2xx without out_fd
  std::map<std::string, std::string> headers;  // names lower-case, last value wins
};

// Performs the exchange. Any HTTP status is a Response; an error is a
// transport failure (Unavailable when a retry may help: refused, reset,
// timed out) or our side failing (reading the body, writing out_fd).
// Messages name the method and URL.
Result<Response> perform(const Request& req);

// Whether the URL's host is this machine (127.0.0.0/8, [::1], localhost).
bool is_loopback(const std::string& url);

// The text of the first <tag>...</tag> in an XML answer (S3 errors, STS),
// "" if absent. Enough for the flat documents AWS returns.
std::string xml_value(const std::string& xml, const std::string& tag);

}  // namespace zipllm::remote::http
