#include "remote/s3_remote.h"

#include "remote/transfer.h"

#include "util/file.h"
#include "util/redact.h"

#include <curl/curl.h>

#include <cstdlib>
#include <mutex>

namespace zipllm::remote {

namespace {

constexpr uint64_t k_default_multipart_threshold = 256ull << 20;
constexpr uint64_t k_default_part_size = 64ull << 20;
constexpr size_t k_max_error_body = 64 << 10;

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) {
    return fallback;
  }
  char* end = nullptr;
  unsigned long long n = std::strtoull(v, &end, 10);
  return (end && *end == '\0' && n > 0) ? n : fallback;
}

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

std::string xml_value(const std::string& xml, const std::string& tag) {
  size_t a = xml.find("<" + tag + ">");
  if (a == std::string::npos) {
    return "";
  }
  a += tag.size() + 2;
  size_t b = xml.find("</" + tag + ">", a);
  return b == std::string::npos ? "" : xml.substr(a, b - a);
}

std::string url_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

bool parse_bool(const std::string& v) { return v == "true" || v == "1" || v == "yes" || v == "on"; }

// Whether an http(s) URL's host is this machine (127.0.0.0/8, ::1, localhost).
bool is_loopback_url(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (size_t at = host.rfind('@'); at != std::string::npos) {
    host = host.substr(at + 1);
  }
  if (!host.empty() && host[0] == '[') {
    return host.rfind("[::1]", 0) == 0;
  }
  host = host.substr(0, host.find(':'));
  return host == "localhost" || host.rfind("127.", 0) == 0;
}

}  // namespace

Result<S3Location> parse_s3_url(const std::string& url) {
  if (url.rfind("s3://", 0) != 0) {
    return make_error(Errc::InvalidArgument, "not an s3:// URL: " + url);
  }
  std::string rest = url.substr(5);
  std::string query;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  S3Location loc;
  size_t slash = rest.find('/');
  loc.bucket = rest.substr(0, slash);
  if (slash != std::string::npos) {
    loc.prefix = rest.substr(slash + 1);
  }
  while (!loc.prefix.empty() && loc.prefix.back() == '/') {
    loc.prefix.pop_back();
  }
  if (loc.bucket.empty() || loc.bucket.size() > 63 ||
      loc.bucket.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-_") != std::string::npos) {
    return make_error(Errc::InvalidArgument, "bad bucket name in " + url);
  }
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    std::string kv = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    pos = amp == std::string::npos ? query.size() : amp + 1;
    size_t eq = kv.find('=');
    std::string k = kv.substr(0, eq);
    std::string v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (k == "endpoint") {
      loc.settings.endpoint = v;
    } else if (k == "region") {
      loc.settings.region = v;
    } else if (k == "path-style" || k == "path_style") {
      loc.settings.path_style = parse_bool(v);
    } else {
      return make_error(Errc::InvalidArgument, "unknown setting '" + k + "' in " + url +
                                                   " (known: endpoint, region, path-style)");
    }
  }
  return loc;
}

Result<std::unique_ptr<S3Remote>> S3Remote::open(const std::string& url, const S3Settings& given) {
  S3Location loc = TRY(parse_s3_url(url));
  std::unique_ptr<S3Remote> r(new S3Remote());
  r->m_url = redact(url);  // for messages only
  r->m_bucket = loc.bucket;
  r->m_prefix = loc.prefix;
  r->m_region = !loc.settings.region.empty() ? loc.settings.region
                : !given.region.empty()      ? given.region
                                             : aws_region().value_or("us-east-1");
  // The region becomes part of a host name and of the signature's scope.
  if (r->m_region.empty() || r->m_region.size() > 64 ||
      r->m_region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    return make_error(Errc::InvalidArgument, "bad S3 region '" + r->m_region + "' for " + redact(url));
  }
  std::string endpoint = !loc.settings.endpoint.empty() ? loc.settings.endpoint
                         : !given.endpoint.empty()      ? given.endpoint
                                                        : aws_endpoint().value_or("");
  bool custom = !endpoint.empty();
  if (!custom) {
    endpoint = "https://s3." + r->m_region + ".amazonaws.com";
  }
  if (endpoint.find("://") == std::string::npos) {
    endpoint = "https://" + endpoint;
  }
  while (endpoint.back() == '/') {
    endpoint.pop_back();
  }
  r->m_endpoint = endpoint;
  r->m_path_style = loc.settings.path_style.value_or(given.path_style.value_or(custom));
  r->m_creds = aws_credentials();
  if (r->m_creds && endpoint.rfind("http://", 0) == 0 && !is_loopback_url(endpoint) && !given.allow_http) {
    const char* env_allow = std::getenv("GIT_ZIPLLM_S3_ALLOW_HTTP");
    if (!env_allow || std::string(env_allow) != "1") {
      return make_error(Errc::InvalidArgument,
                        "refusing to send AWS credentials over plain http:// to " + redact(endpoint) +
                            " (anyone on the way could read them); use https://, or allow it with "
                            "`git config zipllm.s3allowhttp true` or GIT_ZIPLLM_S3_ALLOW_HTTP=1");
    }
  }
  r->m_multipart_threshold = env_u64("GIT_ZIPLLM_S3_MULTIPART_THRESHOLD", k_default_multipart_threshold);
  r->m_part_size = std::max<uint64_t>(env_u64("GIT_ZIPLLM_S3_PART_SIZE", k_default_part_size), 5u << 20);
  return r;
}

std::string S3Remote::bucket_url() const {
  if (m_path_style) {
    return m_endpoint + "/" + m_bucket + "/";
  }
  size_t scheme = m_endpoint.find("://") + 3;
  return m_endpoint.substr(0, scheme) + m_bucket + "." + m_endpoint.substr(scheme) + "/";
}

std::string S3Remote::key_url(const std::string& key, const std::string& query) const {
  std::string full = m_prefix.empty() ? key : key.empty() ? m_prefix + "/" : m_prefix + "/" + key;
  std::string u;
  if (m_path_style) {
    u = m_endpoint + "/" + m_bucket + "/" + full;
  } else {
    size_t scheme = m_endpoint.find("://") + 3;
    u = m_endpoint.substr(0, scheme) + m_bucket + "." + m_endpoint.substr(scheme) + "/" + full;
  }
  return query.empty() ? u : u + "?" + query;
}

struct S3Remote::Request {
  std::string method = "GET";
  bool bucket_only = false;  // the bucket itself, not a key under the prefix
  long timeout_ms = 0;       // whole request; 0: none (bodies may be large)
  std::string key;
  std::string query;
  // Body: a file range, or a string.
  int in_fd = -1;
  uint64_t in_offset = 0;
  uint64_t in_length = 0;
  const std::string* in_text = nullptr;
  // Response body: into a file (2xx only) or into text.
  int out_fd = -1;
  std::string out_name;
  const ByteCounter* counter = nullptr;
  // Filled while running.
  uint64_t sent = 0;
  CURL* curl = nullptr;
  Status sink_error;
  std::string text;
  std::string etag;
};

struct S3Remote::Response {
  long status = 0;
  int64_t length = -1;  // Content-Length, if the server sent one
  std::string body;
  std::string etag;
};

namespace {

size_t on_read(char* buf, size_t size, size_t n, void* user);
size_t on_write(char* buf, size_t size, size_t n, void* user);
size_t on_header(char* buf, size_t size, size_t n, void* user);

bool transient_curl(CURLcode c) {
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

}  // namespace

Result<S3Remote::Response> S3Remote::perform(Request& req) {
  CURL* c = thread_handle();
  if (!c) {
    return make_error(Errc::Internal, "curl_easy_init failed");
  }
  req.curl = c;
  std::string target = req.bucket_only ? bucket_url() : key_url(req.key, req.query);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, target.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(env_u64("GIT_ZIPLLM_CONNECT_TIMEOUT_MS", 10000)));
  if (req.timeout_ms > 0) {
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req.timeout_ms);
  }
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(env_u64("GIT_ZIPLLM_STALL_SECONDS", 60)));
  if (uint64_t cap = env_u64("GIT_ZIPLLM_MAX_SEND_SPEED", 0)) {  // bytes/s, for slow links and tests
    curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE, static_cast<curl_off_t>(cap));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &req);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &req);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "git-zipllm");

  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
  headers = curl_slist_append(headers, "Expect:");
  if (m_creds && !m_creds->session_token.empty()) {
    headers = curl_slist_append(headers, ("x-amz-security-token: " + m_creds->session_token).c_str());
  }
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &req);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.in_length));
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  } else if (req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    const std::string& body = req.in_text ? *req.in_text : req.text;  // text is empty here
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body.c_str());
    headers = curl_slist_append(headers, "Content-Type: application/xml");
  } else if (req.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  std::string sigv4 = "aws:amz:" + m_region + ":s3";
  std::string userpwd;
  if (m_creds) {
    userpwd = m_creds->key_id + ":" + m_creds->secret;
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(c, CURLOPT_USERPWD, userpwd.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(headers);
  Response resp;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  curl_off_t length = -1;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK) {
    resp.length = static_cast<int64_t>(length);
  }
  if (!req.sink_error) {
    return Error(req.sink_error.error());  // our side failed (disk full writing a download)
  }
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    Errc code = transient_curl(rc) ? Errc::Unavailable : Errc::IoError;
    return make_error(code, m_url + ": " + req.method + " " + target + ": " + why);
  }
  resp.body = std::move(req.text);
  resp.etag = std::move(req.etag);
  if (resp.status >= 200 && resp.status < 300) {
    return resp;
  }
  std::string detail = xml_value(resp.body, "Code");
  std::string msg = xml_value(resp.body, "Message");
  if (!msg.empty()) {
    detail += (detail.empty() ? "" : ": ") + msg;
  }
  std::string what = m_url + ": " + req.method + " " + target + ": HTTP " +
                     std::to_string(resp.status) + (detail.empty() ? "" : " (" + detail + ")");
  if (resp.status == 404) {
    return make_error(Errc::NotFound, what);
  }
  if (resp.status >= 500 || resp.status == 429 || resp.status == 408) {
    return make_error(Errc::Unavailable, what);
  }
  if (resp.status == 401 || resp.status == 403) {
    return make_error(Errc::InvalidArgument,
                      what + "; access denied: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
                             "~/.aws/credentials");
  }
  if (resp.status == 301 || resp.status == 307) {
    return make_error(Errc::InvalidArgument, what + "; the bucket is in another region (set region=)");
  }
  return make_error(Errc::IoError, what);
}

namespace {

size_t on_read(char* buf, size_t size, size_t n, void* user) {
  auto* req = static_cast<S3Remote::Request*>(user);
  uint64_t left = req->in_length - req->sent;
  size_t want = static_cast<size_t>(std::min<uint64_t>(left, size * n));
  if (want == 0) {
    return 0;
  }
  Status s = read_exact_at(req->in_fd, req->in_offset + req->sent,
                           std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf), want), "upload source");
  if (!s) {
    req->sink_error = std::move(s);
    return CURL_READFUNC_ABORT;
  }
  req->sent += want;
  if (req->counter && *req->counter) {
    (*req->counter)(want);
  }
  return want;
}

size_t on_write(char* buf, size_t size, size_t n, void* user) {
  auto* req = static_cast<S3Remote::Request*>(user);
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(req->curl, CURLINFO_RESPONSE_CODE, &status);
  if (req->out_fd >= 0 && status >= 200 && status < 300) {
    Status s = write_all(req->out_fd, std::span<const uint8_t>(reinterpret_cast<uint8_t*>(buf), len),
                         req->out_name);
    if (!s) {
      req->sink_error = std::move(s);
      return 0;
    }
    if (req->counter && *req->counter) {
      (*req->counter)(len);
    }
    return len;
  }
  if (req->text.size() < k_max_error_body) {
    req->text.append(buf, std::min(len, k_max_error_body - req->text.size()));
  }
  return len;
}

size_t on_header(char* buf, size_t size, size_t n, void* user) {
  auto* req = static_cast<S3Remote::Request*>(user);
  std::string line(buf, size * n);
  if (line.size() > 5 && (line.compare(0, 5, "ETag:") == 0 || line.compare(0, 5, "etag:") == 0)) {
    std::string v = line.substr(5);
    size_t a = v.find_first_not_of(" \t");
    size_t b = v.find_last_not_of(" \t\r\n");
    req->etag = a == std::string::npos ? "" : v.substr(a, b - a + 1);
  }
  return size * n;
}

}  // namespace

Status S3Remote::ping() {
  Request req;
  req.method = "HEAD";
  req.bucket_only = true;
  req.timeout_ms = static_cast<long>(env_u64("GIT_ZIPLLM_PING_TIMEOUT_MS", 10000));
  auto r = perform(req);
  if (!r) {
    Error e = std::move(r).error();
    if (e.code == Errc::NotFound) {
      e.message += "; no such bucket '" + m_bucket + "' at " + m_endpoint;
      e.code = Errc::InvalidArgument;
    }
    return e;
  }
  return {};
}

// The size of `key` from a HEAD: nothing if absent, -1 inside if the server
// sent no Content-Length.
Result<std::optional<int64_t>> S3Remote::head_size(const std::string& key) {
  Request req;
  req.method = "HEAD";
  req.timeout_ms = 30000;  // a HEAD that takes longer is a stalled server
  req.key = key;
  auto r = perform(req);
  if (r) {
    return std::optional<int64_t>(r->length);
  }
  if (r.error().code == Errc::NotFound) {
    return std::optional<int64_t>();
  }
  return std::move(r).error();
}

Result<bool> S3Remote::has(const std::string& key) {
  auto size = TRY(head_size(key));
  return size.has_value();
}

Result<std::optional<uint64_t>> S3Remote::object_size(const ObjectId& id) {
  auto size = TRY(head_size(object_key(id)));
  if (!size) {
    return std::optional<uint64_t>();
  }
  if (*size < 0) {
    return make_error(Errc::IoError, m_url + ": HEAD of object " + id.hex() + " gave no size");
  }
  return std::optional<uint64_t>(static_cast<uint64_t>(*size));
}

Status S3Remote::put(const std::string& key, int fd, uint64_t offset, uint64_t length,
                     const ByteCounter& counter) {
  if (length > m_multipart_threshold) {
    return put_multipart(key, fd, offset, length, counter);
  }
  TRY(put_range(key, "", fd, offset, length, counter));
  return {};
}

Result<S3Remote::Response> S3Remote::put_range(const std::string& key, const std::string& query, int fd,
                                               uint64_t offset, uint64_t length, const ByteCounter& counter) {
  Request req;
  req.method = "PUT";
  req.key = key;
  req.query = query;
  req.in_fd = fd;
  req.in_offset = offset;
  req.in_length = length;
  req.counter = &counter;
  return perform(req);
}

Status S3Remote::put_multipart(const std::string& key, int fd, uint64_t offset, uint64_t length,
                               const ByteCounter& counter) {
  Request start;
  start.method = "POST";
  start.key = key;
  start.query = "uploads=";
  auto started = TRY(perform(start));
  std::string upload_id = xml_value(started.body, "UploadId");
  if (upload_id.empty()) {
    return make_error(Errc::IoError, m_url + ": multipart upload of " + key + " returned no UploadId");
  }
  std::string id_q = "uploadId=" + url_escape(upload_id);
  auto abort = [&] {
    Request del;
    del.method = "DELETE";
    del.key = key;
    del.query = id_q;
    (void)perform(del);
  };
  std::string complete = "<CompleteMultipartUpload>";
  int part = 1;
  for (uint64_t done = 0; done < length; done += m_part_size, ++part) {
    uint64_t n = std::min<uint64_t>(m_part_size, length - done);
    // Each part is retried on its own, so a blip does not restart the object.
    std::string etag;
    Status sent = with_retry(default_transfer_options(""), [&]() -> Status {
      etag = TRY(put_range(key, "partNumber=" + std::to_string(part) + "&" + id_q, fd, offset + done, n,
                           counter)).etag;
      return {};
    });
    if (!sent) {
      abort();
      return sent;
    }
    complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" + etag + "</ETag></Part>";
  }
  complete += "</CompleteMultipartUpload>";
  Request fin;
  fin.method = "POST";
  fin.key = key;
  fin.query = id_q;
  fin.in_text = &complete;
  auto done = perform(fin);
  if (!done || done->body.find("<Error>") != std::string::npos) {
    abort();
    if (!done) {
      return std::move(done).error();
    }
    return make_error(Errc::Unavailable, m_url + ": completing the upload of " + key + " failed: " +
                                             xml_value(done->body, "Message"));
  }
  return {};
}

Status S3Remote::get(const std::string& key, int fd, const std::string& fd_name,
                     const ByteCounter& counter) {
  Request req;
  req.key = key;
  req.out_fd = fd;
  req.out_name = fd_name;
  req.counter = &counter;
  TRY(perform(req));
  return {};
}

}  // namespace zipllm::remote
