#include "hub/http_server.h"

#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace zipllm::hub {

namespace {

std::mutex g_server_mutex;
httplib::Server* g_server = nullptr;
Hub* g_hub = nullptr;
std::atomic<bool> g_stop{false};

HttpRequest to_request(const httplib::Request& in) {
  HttpRequest r;
  r.method = in.method;
  r.path = in.path;
  for (const auto& [k, v] : in.headers) {
    std::string key = k;
    for (auto& c : key) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    r.headers.emplace(key, v);
  }
  r.body = in.body;
  return r;
}

void send(const HttpResponse& from, httplib::Response& to) {
  // A 200 file body is left unset: httplib answers 206 with Content-Range
  // when the request had a satisfiable Range, else 200.
  if (!(from.file && from.status == 200)) {
    to.status = from.status;
  }
  for (const auto& [k, v] : from.headers) {
    to.set_header(k, v);
  }
  if (from.file) {
    auto d = from.file;
    to.set_content_provider(d->size(), from.content_type,
                            [d](size_t offset, size_t length, httplib::DataSink& sink) {
                              uint8_t buf[1 << 16];
                              size_t got = d->read(offset, buf, std::min(length, sizeof buf));
                              return got > 0 && sink.write(reinterpret_cast<const char*>(buf), got);
                            });
  } else {
    to.set_content(from.body, from.content_type);
  }
}

void log_line(const httplib::Request& req, const HttpResponse& r, uint64_t out,
              std::chrono::steady_clock::time_point start) {
  int status = r.status;
  if (r.file && status == 200 && req.ranges.size() == 1 && req.ranges[0].first >= 0) {
    // httplib answers the range after the handler: 206 and that part.
    uint64_t size = r.file->size();
    uint64_t first = static_cast<uint64_t>(req.ranges[0].first);
    uint64_t last =
        req.ranges[0].second < 0 ? size - 1 : static_cast<uint64_t>(req.ranges[0].second);
    if (first < size) {
      status = 206;
      out = std::min(last, size - 1) - first + 1;
    }
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  std::fprintf(stderr, "hub: %s %s %d repo=%s oid=%s in=%llu out=%llu ms=%lld\n",
               req.method.c_str(), req.path.c_str(), status, r.repo.empty() ? "-" : r.repo.c_str(),
               r.oid.empty() ? "-" : r.oid.substr(0, 12).c_str(),
               static_cast<unsigned long long>(r.bytes_in), static_cast<unsigned long long>(out),
               static_cast<long long>(ms));
}

}  // namespace

Status serve(Hub& hub, const ServeOptions& opts) {
  httplib::Server server;
  unsigned threads = std::max(2u, opts.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_read_timeout(300, 0);
  server.set_write_timeout(300, 0);
  server.set_keep_alive_timeout(30);
  // Headers and body go out in separate writes: with Nagle's algorithm the
  // body waits for the client's delayed ACK (40 ms per small response).
  server.set_tcp_nodelay(true);
  server.set_payload_max_length(std::numeric_limits<size_t>::max());
  const bool quiet = opts.quiet;

  auto plain = [&hub, quiet](const httplib::Request& req, httplib::Response& res) {
    auto start = std::chrono::steady_clock::now();
    HttpResponse r = hub.handle(to_request(req));
    send(r, res);
    if (!quiet) {
      log_line(req, r, r.file ? r.file->size() : r.body.size(), start);
    }
  };
  server.Get(R"(/.*)", plain);
  server.Post(R"(/.*)", plain);
  server.Put(R"(/.*)", [&hub, quiet](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
    auto start = std::chrono::steady_clock::now();
    bool read = false;
    HttpResponse r = hub.upload(to_request(req), [&](const Hub::Receiver& receive) {
      read = true;
      return reader([&](const char* data, size_t n) { return receive(data, n); });
    });
    send(r, res);
    if (!read) {
      // Answered before the body (401, 403, 429, …): its bytes are still
      // on the connection and must not be read as the next request.
      res.set_header("Connection", "close");
    }
    if (!quiet) {
      log_line(req, r, r.body.size(), start);
    }
  });

  int port = opts.port;
  if (port == 0) {
    port = server.bind_to_any_port(opts.host);
    if (port < 0) {
      return make_error(Errc::IoError, "cannot listen on " + opts.host);
    }
  } else if (!server.bind_to_port(opts.host, port)) {
    return make_error(Errc::IoError, "cannot listen on " + opts.host + ":" + std::to_string(port) +
                                         " (in use, or not an address of this machine)");
  }
  {
    std::lock_guard lock(g_server_mutex);
    g_server = &server;
    g_hub = &hub;
  }
  if (opts.on_listening) {
    opts.on_listening(port);
  }
  bool ok = g_stop ? true : server.listen_after_bind();
  {
    std::lock_guard lock(g_server_mutex);
    g_server = nullptr;
    g_hub = nullptr;
  }
  if (!ok && !g_stop) {
    return make_error(Errc::IoError, "the server on " + opts.host + " stopped unexpectedly");
  }
  return {};
}

void stop_serving() {
  g_stop = true;
  std::lock_guard lock(g_server_mutex);
  if (g_hub) {
    g_hub->stop();
  }
  if (g_server) {
    g_server->stop();
  }
}

}  // namespace zipllm::hub
