#include "remote/s3_remote.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "remote/http.h"
#include "remote/sigv4.h"
#include "remote/transfer.h"
#include "util/env.h"
#include "util/file.h"
#include "util/redact.h"

namespace zipllm::remote {

namespace {

constexpr uint64_t k_default_multipart_threshold = 256ull << 20;
constexpr uint64_t k_default_part_size = 64ull << 20;
constexpr uint64_t k_max_single_put = 5ull << 30;  // S3's limit for one PUT
constexpr uint64_t k_min_part_size = 5ull << 20;   // ... and for a part (but the last)
constexpr uint64_t k_max_parts = 10000;

bool parse_bool(const std::string& v) {
  return v == "true" || v == "1" || v == "yes" || v == "on";
}

bool valid_region(const std::string& r) {
  return !r.empty() && r.size() <= 64 &&
         r.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
}

// "http://host:port/base" -> scheme, authority (default port dropped), base path.
struct Endpoint {
  std::string scheme, authority, base;
};

Endpoint split_endpoint(const std::string& e) {
  Endpoint out;
  size_t s = e.find("://");
  out.scheme = e.substr(0, s);
  std::string rest = e.substr(s + 3);
  size_t slash = rest.find('/');
  out.authority = rest.substr(0, slash);
  out.base = slash == std::string::npos ? "" : rest.substr(slash);
  while (!out.base.empty() && out.base.back() == '/') {
    out.base.pop_back();
  }
  if ((out.scheme == "http" && out.authority.size() > 3 &&
       out.authority.compare(out.authority.size() - 3, 3, ":80") == 0) ||
      (out.scheme == "https" && out.authority.size() > 4 &&
       out.authority.compare(out.authority.size() - 4, 4, ":443") == 0)) {
    out.authority = out.authority.substr(0, out.authority.rfind(':'));
  }
  return out;
}

std::string base64(const unsigned char* p, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

Result<std::string> sha256_base64_of(int fd, uint64_t offset, uint64_t length) {
  Sha256 sha;
  std::vector<uint8_t> buf(4u << 20);
  for (uint64_t off = 0; off < length; off += buf.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), length - off));
    TRY_STATUS(read_exact_at(fd, offset + off, std::span<uint8_t>(buf.data(), n), "upload source"));
    sha.update(std::span<const uint8_t>(buf.data(), n));
  }
  auto d = sha.finish();
  return base64(d.data(), d.size());
}

// Say it once per process: where a bucket really is.
void note_region(const std::string& bucket, const std::string& region) {
  static std::once_flag once;
  std::call_once(once, [&] {
    std::fprintf(
        stderr,
        "git-zipllm: note: bucket %s is in region %s; requests now go there (add region=%s to the "
        "store URL, or set zipllm.s3region, to skip the detour)\n",
        bucket.c_str(), region.c_str(), region.c_str());
  });
}

}  // namespace

Result<S3Location> parse_s3_url(const std::string& url) {
  if (url.rfind("s3://", 0) != 0) {
    return make_error(Errc::InvalidArgument, "not an s3:// URL: " + redact(url));
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
  if (loc.bucket.size() < 3 || loc.bucket.size() > 63 ||
      loc.bucket.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-_") !=
          std::string::npos) {
    return make_error(Errc::InvalidArgument, "bad bucket name in " + redact(url));
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
      return make_error(Errc::InvalidArgument, "unknown setting '" + k + "' in " + redact(url) +
                                                   " (known: endpoint, region, path-style)");
    }
  }
  return loc;
}

Result<std::unique_ptr<S3Remote>> S3Remote::open(const std::string& url, const S3Settings& given) {
  S3Location loc = TRY(parse_s3_url(url));
  std::unique_ptr<S3Remote> r(new S3Remote());
  r->m_url = redact(url);
  r->m_bucket = loc.bucket;
  r->m_prefix = loc.prefix;
  r->m_region = !loc.settings.region.empty() ? loc.settings.region
                : !given.region.empty()      ? given.region
                                             : aws_region().value_or("us-east-1");
  // The region becomes part of a host name and of the signature's scope.
  if (!valid_region(r->m_region)) {
    return make_error(Errc::InvalidArgument, "bad S3 region '" + r->m_region + "' for " + r->m_url);
  }
  std::string endpoint = !loc.settings.endpoint.empty() ? loc.settings.endpoint
                         : !given.endpoint.empty()      ? given.endpoint
                                                        : aws_endpoint().value_or("");
  r->m_custom_endpoint = !endpoint.empty();
  if (!r->m_custom_endpoint) {
    endpoint = "https://s3." + r->m_region + ".amazonaws.com";
  }
  if (endpoint.find("://") == std::string::npos) {
    endpoint = "https://" + endpoint;
  }
  while (endpoint.back() == '/') {
    endpoint.pop_back();
  }
  if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0) {
    return make_error(Errc::InvalidArgument, "S3 endpoint " + redact(endpoint) + " is not http(s)");
  }
  if (endpoint.find('@') != std::string::npos) {
    return make_error(Errc::InvalidArgument,
                      "S3 endpoint " + redact(endpoint) +
                          " holds user information; credentials come from the AWS "
                          "settings (remote/aws.h), never from the URL");
  }
  r->m_endpoint = endpoint;
  r->m_path_style =
      loc.settings.path_style.value_or(given.path_style.value_or(r->m_custom_endpoint));
  r->m_creds = AwsCredentialProvider::from_environment();
  bool plain_http_elsewhere = endpoint.rfind("http://", 0) == 0 && !http::is_loopback(endpoint);
  bool allowed = given.allow_http || env::flag(env::Var::S3AllowHttp);
  if (plain_http_elsewhere && !allowed &&
      r->m_creds->source() != AwsCredentialProvider::Source::None &&
      r->m_creds->source() != AwsCredentialProvider::Source::InstanceMetadata) {
    return make_error(Errc::InvalidArgument,
                      "refusing to send AWS credentials over plain http:// to " + redact(endpoint) +
                          " (anyone on the way could read them); use https://, or allow it with "
                          "`git config zipllm.s3allowhttp true` or GIT_ZIPLLM_S3_ALLOW_HTTP=1");
  }
  r->m_multipart_threshold =
      std::min(env::number(env::Var::S3MultipartThreshold, k_default_multipart_threshold, 1),
               k_max_single_put);
  r->m_part_size = std::clamp(env::number(env::Var::S3PartSize, k_default_part_size, 1),
                              k_min_part_size, k_max_single_put);
  r->m_checksum = env::flag(env::Var::S3Checksum);
  r->m_connect_timeout_ms =
      static_cast<long>(env::number(env::Var::ConnectTimeoutMs, 10000, 1, 3600000));
  r->m_stall_seconds = static_cast<long>(env::number(env::Var::StallSeconds, 60, 1, 86400));
  r->m_max_send_speed = env::number(env::Var::MaxSendSpeed, 0);
  return r;
}

std::string S3Remote::endpoint() const {
  std::lock_guard lock(m_mutex);
  return m_endpoint;
}

std::string S3Remote::region() const {
  std::lock_guard lock(m_mutex);
  return m_region;
}

struct S3Remote::Call {
  std::string method = "GET";
  bool bucket_only = false;  // the bucket itself, not a key under the prefix
  std::string key;
  std::vector<std::pair<std::string, std::string>> query;    // encoded
  std::vector<std::pair<std::string, std::string>> headers;  // signed and sent
  long timeout_ms = 0;
  // Body: a file range or a string.
  int in_fd = -1;
  uint64_t in_offset = 0;
  uint64_t in_length = 0;
  std::string body;
  // Response body of a GET: into a file.
  int out_fd = -1;
  std::string out_name;
  ByteCounter counter;
  http::Response response;  // filled by perform
};

// The response body of a 2xx answer (when not written to out_fd); every
// other answer is an error naming the store and the request.
Result<std::string> S3Remote::perform(Call& call) {
  for (int attempt = 0;; ++attempt) {
    std::string endpoint, region;
    {
      std::lock_guard lock(m_mutex);
      endpoint = m_endpoint;
      region = m_region;
    }
    Endpoint ep = split_endpoint(endpoint);
    std::string full =
        call.bucket_only ? "" : (m_prefix.empty() ? call.key : m_prefix + "/" + call.key);
    std::string path, host;
    if (m_path_style) {
      host = ep.authority;
      path = ep.base + "/" + m_bucket + "/" + aws_uri_encode(full, true);
    } else {
      host = m_bucket + "." + ep.authority;
      path = ep.base + "/" + aws_uri_encode(full, true);
    }
    std::string query;
    for (const auto& [k, v] : call.query) {
      query += (query.empty() ? "?" : "&") + k + "=" + v;
    }
    http::Request req;
    req.method = call.method;
    req.url = ep.scheme + "://" + host + path + query;
    req.timeout_ms = call.timeout_ms;
    req.connect_timeout_ms = m_connect_timeout_ms;
    req.stall_seconds = m_stall_seconds;
    req.max_send_speed = m_max_send_speed;
    req.in_fd = call.in_fd;
    req.in_offset = call.in_offset;
    req.in_length = call.in_length;
    req.body = call.body;
    req.out_fd = call.out_fd;
    req.out_name = call.out_name;
    req.counter = call.counter;
    req.headers = call.headers;
    req.headers.emplace_back("Host", host);
    auto creds = TRY_CTX(m_creds->get(), m_url);
    if (creds) {
      SigV4Request sr;
      sr.method = call.method;
      sr.host = host;
      sr.path = path;
      sr.query = call.query;
      sr.headers = call.headers;
      SigV4Credentials sc{creds->key_id, creds->secret, creds->session_token};
      for (auto& h : sign_v4(sr, sc, region, "s3", std::time(nullptr))) {
        req.headers.push_back(std::move(h));
      }
    } else {
      req.headers.emplace_back("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    }
    auto got = http::perform(req);
    if (!got) {
      return std::move(got).error().context(m_url);
    }
    call.response = std::move(*got);
    const http::Response& resp = call.response;
    if (resp.status >= 200 && resp.status < 300) {
      return resp.body;
    }
    // A bucket in another region: AWS names it; follow once, re-signed.
    std::string there;
    if (auto it = resp.headers.find("x-amz-bucket-region"); it != resp.headers.end()) {
      there = it->second;
    } else if (resp.status == 400 || resp.status == 301) {
      there = http::xml_value(resp.body, "Region");
    }
    if ((resp.status == 301 || resp.status == 307 || resp.status == 400) && valid_region(there) &&
        there != region && attempt == 0) {
      {
        std::lock_guard lock(m_mutex);
        m_region = there;
        if (!m_custom_endpoint) {
          m_endpoint = "https://s3." + there + ".amazonaws.com";
        }
        m_redirected = true;
      }
      note_region(m_bucket, there);
      continue;
    }
    std::string detail = http::xml_value(resp.body, "Code");
    std::string msg = http::xml_value(resp.body, "Message");
    if (!msg.empty()) {
      detail += (detail.empty() ? "" : ": ") + msg;
    }
    std::string what = m_url + ": " + call.method + " " + redact(req.url) + ": HTTP " +
                       std::to_string(resp.status) + (detail.empty() ? "" : " (" + detail + ")");
    if (resp.status == 404) {
      return make_error(Errc::NotFound, what);
    }
    if (resp.status >= 500 || resp.status == 429 || resp.status == 408) {
      return make_error(Errc::Unavailable, what);  // SlowDown, InternalError: retried with backoff
    }
    if (resp.status == 401 || resp.status == 403) {
      return make_error(
          Errc::InvalidArgument,
          what + "; access denied: check the credentials (" +
              (creds ? "from " + creds->source
                     : std::string("none found: AWS_ACCESS_KEY_ID, ~/.aws/credentials, ...")) +
              ")");
    }
    if (resp.status == 301 || resp.status == 307) {
      return make_error(Errc::InvalidArgument,
                        what + "; the bucket is in another region (set region=)");
    }
    return make_error(Errc::IoError, what);
  }
}

Status S3Remote::ping() {
  Call call;
  call.method = "HEAD";
  call.bucket_only = true;
  call.timeout_ms = static_cast<long>(env::number(env::Var::PingTimeoutMs, 10000, 1, 3600000));
  auto r = perform(call);
  if (!r) {
    Error e = std::move(r).error();
    if (e.code == Errc::NotFound) {
      e.message += "; no such bucket '" + m_bucket + "' at " + redact(endpoint());
      e.code = Errc::InvalidArgument;
    }
    return e;
  }
  return {};
}

// The size of `key` from a HEAD: nothing if absent, -1 inside if the server
// sent no Content-Length.
Result<std::optional<int64_t>> S3Remote::head_size(const std::string& key) {
  Call call;
  call.method = "HEAD";
  call.timeout_ms = 30000;  // a HEAD that takes longer is a stalled server
  call.key = key;
  auto r = perform(call);
  if (r) {
    return std::optional<int64_t>(call.response.length);
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
  Call call;
  call.method = "PUT";
  call.key = key;
  call.in_fd = fd;
  call.in_offset = offset;
  call.in_length = length;
  call.counter = counter;
  call.headers = {{"Content-Type", "application/octet-stream"}};
  if (m_checksum) {
    call.headers.emplace_back("x-amz-checksum-sha256", TRY(sha256_base64_of(fd, offset, length)));
  }
  TRY(perform(call));
  return {};
}

namespace {

std::string xml_unescape(std::string s) {
  static const std::pair<const char*, const char*> k_entities[] = {
      {"&lt;", "<"},   {"&gt;", ">"},   {"&quot;", "\""}, {"&apos;", "'"},
      {"&#13;", "\r"}, {"&#10;", "\n"}, {"&amp;", "&"}};
  for (const auto& [from, to] : k_entities) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + 1)) {
      s.replace(at, std::strlen(from), to);
    }
  }
  return s;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Each <TAG>...</TAG> block of `xml`, in order.
std::vector<std::string> xml_blocks(const std::string& xml, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  for (size_t a = xml.find(open); a != std::string::npos; a = xml.find(open, a)) {
    size_t b = xml.find(close, a);
    if (b == std::string::npos) {
      break;
    }
    out.push_back(xml.substr(a + open.size(), b - a - open.size()));
    a = b + close.size();
  }
  return out;
}

std::string md5_base64(const std::string& body) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(body.data(), body.size(), d, &n, EVP_md5(), nullptr);
  return base64(d, n);
}

}  // namespace

Status S3Remote::list_keys(const std::string& sub,
                           const std::function<void(const std::string&, uint64_t, int64_t)>& each) {
  const std::string full = m_prefix.empty() ? sub : m_prefix + "/" + sub;
  std::string token;
  for (;;) {
    Call call;
    call.bucket_only = true;
    call.query = {{"list-type", "2"}, {"prefix", aws_uri_encode(full, false)}};
    if (!token.empty()) {
      call.query.emplace_back("continuation-token", aws_uri_encode(token, false));
    }
    std::string body;
    TRY_STATUS(with_retry(default_transfer_options(""), [&]() -> Status {
      body = TRY(perform(call));
      return {};
    }));
    for (const auto& c : xml_blocks(body, "Contents")) {
      std::string key = xml_unescape(http::xml_value(c, "Key"));
      if (key.rfind(full, 0) != 0) {
        continue;
      }
      uint64_t size = 0;
      std::string sz = http::xml_value(c, "Size");
      std::from_chars(sz.data(), sz.data() + sz.size(), size);
      each(m_prefix.empty() ? key : key.substr(m_prefix.size() + 1), size,
           static_cast<int64_t>(parse_iso8601(http::xml_value(c, "LastModified"))));
    }
    if (http::xml_value(body, "IsTruncated") != "true") {
      return {};
    }
    token = xml_unescape(http::xml_value(body, "NextContinuationToken"));
    if (token.empty()) {
      return make_error(Errc::IoError, m_url +
                                           ": a truncated listing came without a "
                                           "NextContinuationToken");
    }
  }
}

Status S3Remote::delete_keys(const std::vector<std::string>& keys) {
  constexpr size_t k_batch = 1000;  // DeleteObjects' limit
  for (size_t at = 0; at < keys.size(); at += k_batch) {
    std::string body = "<Delete><Quiet>true</Quiet>";
    for (size_t i = at; i < std::min(keys.size(), at + k_batch); ++i) {
      body += "<Object><Key>" + xml_escape(m_prefix.empty() ? keys[i] : m_prefix + "/" + keys[i]) +
              "</Key></Object>";
    }
    body += "</Delete>";
    Call call;
    call.method = "POST";
    call.bucket_only = true;
    call.query = {{"delete", ""}};
    call.body = body;
    // S3 refuses a multi-object delete without a checksum of its body.
    call.headers = {{"Content-Type", "application/xml"}, {"Content-MD5", md5_base64(body)}};
    std::string answer;
    TRY_STATUS(with_retry(default_transfer_options(""), [&]() -> Status {
      answer = TRY(perform(call));
      return {};
    }));
    auto errors = xml_blocks(answer, "Error");
    if (!errors.empty()) {
      return make_error(Errc::IoError, m_url + ": could not delete " +
                                           xml_unescape(http::xml_value(errors[0], "Key")) + ": " +
                                           http::xml_value(errors[0], "Code") + " " +
                                           http::xml_value(errors[0], "Message") + " (" +
                                           std::to_string(errors.size()) + " key(s) not deleted)");
    }
  }
  return {};
}

Result<RemoteStore::PruneStats> S3Remote::prune(
    const std::function<bool(const ObjectId&)>& needed,
    std::chrono::system_clock::time_point cutoff, bool dry_run,
    const std::function<void(const ObjectId&, uint64_t)>& listed) {
  const int64_t cutoff_s =
      std::chrono::duration_cast<std::chrono::seconds>(cutoff.time_since_epoch()).count();
  PruneStats st;
  std::vector<std::string> doomed;
  TRY_STATUS(list_keys("objects/", [&](const std::string& key, uint64_t size, int64_t modified) {
    // objects/<2 hex>/<30 hex>; anything else under objects/ is left alone.
    std::string hex =
        key.size() == 8 + 2 + 1 + 30 && key[10] == '/' ? key.substr(8, 2) + key.substr(11) : "";
    auto id = ObjectId::from_hex(hex);
    if (!id) {
      return;
    }
    if (needed(*id)) {
      ++st.kept;
      return;
    }
    if (listed) {
      listed(*id, size);
    }
    if (modified == 0 || modified >= cutoff_s) {
      ++st.recent;
      return;
    }
    doomed.push_back(key);
    ++st.objects;
    st.bytes += size;
  }));
  if (!dry_run) {
    TRY_STATUS(delete_keys(doomed));
  }
  return st;
}

Result<std::vector<std::string>> S3Remote::lfs_oids() {
  std::vector<std::string> out;
  TRY_STATUS(list_keys("lfs/", [&](const std::string& key, uint64_t, int64_t) {
    std::string name = key.substr(key.rfind('/') + 1);
    if (name.size() == 64) {
      out.push_back(name);
    }
  }));
  return out;
}

Result<std::vector<std::string>> S3Remote::list(const std::string& prefix) {
  std::vector<std::string> out;
  TRY_STATUS(list_keys(prefix, [&](const std::string& key, uint64_t, int64_t) {
    if (key.size() > prefix.size() && key.find('/', prefix.size()) == std::string::npos) {
      out.push_back(key.substr(prefix.size()));
    }
  }));
  return out;
}

Status S3Remote::put_multipart(const std::string& key, int fd, uint64_t offset, uint64_t length,
                               const ByteCounter& counter) {
  // Parts big enough that no object needs more than S3's 10,000.
  uint64_t part_size = std::max(m_part_size, (length + k_max_parts - 1) / k_max_parts);
  Call start;
  start.method = "POST";
  start.key = key;
  start.query = {{"uploads", ""}};
  start.headers = {{"Content-Type", "application/octet-stream"}};
  std::string started = TRY(perform(start));
  std::string upload_id = http::xml_value(started, "UploadId");
  if (upload_id.empty()) {
    return make_error(Errc::IoError,
                      m_url + ": multipart upload of " + key + " returned no UploadId");
  }
  std::string id_q = aws_uri_encode(upload_id, false);
  auto abort = [&] {
    Call del;
    del.method = "DELETE";
    del.key = key;
    del.query = {{"uploadId", id_q}};
    (void)perform(del);
  };
  std::string complete = "<CompleteMultipartUpload>";
  int part = 1;
  for (uint64_t done = 0; done < length; done += part_size, ++part) {
    uint64_t n = std::min<uint64_t>(part_size, length - done);
    // Each part is retried on its own, so a blip does not restart the object.
    std::string etag;
    Status sent = with_retry(default_transfer_options(""), [&]() -> Status {
      Call p;
      p.method = "PUT";
      p.key = key;
      p.query = {{"partNumber", std::to_string(part)}, {"uploadId", id_q}};
      p.in_fd = fd;
      p.in_offset = offset + done;
      p.in_length = n;
      p.counter = counter;
      TRY(perform(p));
      etag = p.response.headers.count("etag") ? p.response.headers.at("etag") : "";
      return {};
    });
    if (!sent) {
      abort();
      return sent;
    }
    complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" + etag +
                "</ETag></Part>";
  }
  complete += "</CompleteMultipartUpload>";
  Call fin;
  fin.method = "POST";
  fin.key = key;
  fin.query = {{"uploadId", id_q}};
  fin.body = complete;
  fin.headers = {{"Content-Type", "application/xml"}};
  auto done = perform(fin);
  // S3 may answer 200 with an <Error> body for a failed completion.
  if (!done || done->find("<Error>") != std::string::npos) {
    abort();
    if (!done) {
      return std::move(done).error();
    }
    return make_error(Errc::Unavailable, m_url + ": completing the upload of " + key +
                                             " failed: " + http::xml_value(*done, "Message"));
  }
  return {};
}

Status S3Remote::get(const std::string& key, int fd, const std::string& fd_name,
                     const ByteCounter& counter) {
  Call call;
  call.key = key;
  call.out_fd = fd;
  call.out_name = fd_name;
  call.counter = counter;
  TRY(perform(call));
  return {};
}

}  // namespace zipllm::remote
