#include "remote/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "util/file.h"
#include "util/redact.h"

namespace zipllm::remote::http {

namespace {

constexpr size_t k_max_error_body = 64 << 10;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One easy handle per thread, reused so connections stay open.
CURL* thread_handle() {
  struct Holder {
    CURL* h = nullptr;
    ~Holder() {
      if (h) {
        curl_easy_cleanup(h);
      }
    }
  };
  thread_local Holder holder;
  if (!holder.h) {
    global_init();
    holder.h = curl_easy_init();
  } else {
    curl_easy_reset(holder.h);
  }
  return holder.h;
}

bool transient(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

// What the callbacks share for one exchange.
struct Exchange {
  const Request* req;
  Response* resp;
  CURL* curl;
  uint64_t sent = 0;
  Status failed;  // our side (reading the body, writing the output)
};

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const Request& r = *x->req;
  uint64_t total = r.in_fd >= 0 ? r.in_length : r.body.size();
  size_t want = static_cast<size_t>(std::min<uint64_t>(total - x->sent, size * n));
  if (want == 0) {
    return 0;
  }
  if (r.in_fd >= 0) {
    Status s =
        read_exact_at(r.in_fd, r.in_offset + x->sent,
                      std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf), want), "upload source");
    if (!s) {
      x->failed = std::move(s);
      return CURL_READFUNC_ABORT;
    }
  } else {
    std::copy_n(r.body.data() + x->sent, want, buf);
  }
  x->sent += want;
  if (r.counter) {
    r.counter(want);
  }
  return want;
}

size_t on_write(char* buf, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
  bool ok = status >= 200 && status < 300;
  if (ok && x->req->out_fd >= 0) {
    Status s =
        write_all(x->req->out_fd, std::span<const uint8_t>(reinterpret_cast<uint8_t*>(buf), len),
                  x->req->out_name);
    if (!s) {
      x->failed = std::move(s);
      return 0;
    }
    if (x->req->counter) {
      x->req->counter(len);
    }
    return len;
  }
  std::string& body = x->resp->body;
  if (ok || body.size() < k_max_error_body) {
    body.append(buf, ok ? len : std::min(len, k_max_error_body - body.size()));
  }
  return len;
}

size_t on_header(char* buf, size_t size, size_t n, void* user) {
  auto* x = static_cast<Exchange*>(user);
  std::string line(buf, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string v = line.substr(colon + 1);
    size_t a = v.find_first_not_of(" \t");
    size_t b = v.find_last_not_of(" \t\r\n");
    x->resp->headers[name] = a == std::string::npos ? "" : v.substr(a, b - a + 1);
  } else if (line.rfind("HTTP/", 0) == 0) {
    x->resp->headers.clear();  // a new response (after 100 Continue, a redirect)
  }
  return size * n;
}

}  // namespace

Result<Response> perform(const Request& req) {
  CURL* c = thread_handle();
  if (!c) {
    return make_error(Errc::Internal, "curl_easy_init failed");
  }
  Response resp;
  Exchange x{&req, &resp, c, 0, {}};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, req.connect_timeout_ms);
  if (req.timeout_ms > 0) {
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req.timeout_ms);
  }
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, req.stall_seconds);
  if (req.max_send_speed > 0) {
    curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE, static_cast<curl_off_t>(req.max_send_speed));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "git-zipllm");
  // Only the protocols we mean: no file://, no redirects followed.
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers) {
    headers = curl_slist_append(headers, (k + ": " + v).c_str());
  }
  // No "Expect: 100-continue" round trip (and nothing unsent gets signed).
  headers = curl_slist_append(headers, "Expect:");
  bool has_body = req.in_fd >= 0 || !req.body.empty();
  uint64_t body_length = req.in_fd >= 0 ? req.in_length : req.body.size();
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &x);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_length));
  } else if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &x);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(has_body ? body_length : 0));
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  curl_off_t length = -1;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK) {
    resp.length = static_cast<int64_t>(length);
  }
  if (!x.failed) {
    return Error(x.failed.error());
  }
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return make_error(transient(rc) ? Errc::Unavailable : Errc::IoError,
                      req.method + " " + redact(req.url) + ": " + why);
  }
  return resp;
}

bool is_loopback(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (size_t at = host.rfind('@'); at != std::string::npos) {
    host = host.substr(at + 1);
  }
  if (!host.empty() && host[0] == '[') {
    return host == "[::1]" || host.rfind("[::1]:", 0) == 0;
  }
  host = host.substr(0, host.find(':'));
  in_addr addr{};
  if (::inet_pton(AF_INET, host.c_str(), &addr) == 1) {
    return (ntohl(addr.s_addr) >> 24) == 127;  // 127.0.0.0/8, a whole address only
  }
  return host == "localhost";
}

std::string xml_value(const std::string& xml, const std::string& tag) {
  size_t a = xml.find("<" + tag + ">");
  if (a == std::string::npos) {
    return "";
  }
  a += tag.size() + 2;
  size_t b = xml.find("</" + tag + ">", a);
  return b == std::string::npos ? "" : xml.substr(a, b - a);
}

}  // namespace zipllm::remote::http
