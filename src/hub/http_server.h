// The hub over HTTP: cpp-httplib (Debian's libcpp-httplib-dev) moving bytes
// between sockets and hub::Hub, nothing more. One request log line per
// request on stderr: method, path, status, repo, oid, bytes in and out, ms.
#pragma once

#include <functional>
#include <string>

#include "hub/service.h"

namespace zipllm::hub {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;        // 0: any free port
  unsigned threads = 16;  // connections served at once
  bool quiet = false;     // no request log
  // Called once listening, with the port (for "listening on …" and tests).
  std::function<void(int)> on_listening;
};

// Serves until stop_serving() (SIGTERM/SIGINT in the CLI) is called.
// In-flight uploads then finish or are abandoned; nothing partial is ever
// published (the manifest is written last).
Status serve(Hub& hub, const ServeOptions& opts);
void stop_serving();

}  // namespace zipllm::hub
