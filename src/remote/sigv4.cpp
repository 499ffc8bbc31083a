#include "remote/sigv4.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "util/hash.h"

namespace zipllm::remote {

namespace {

std::string hex(const unsigned char* p, size_t n) {
  static const char* k = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = k[p[i] >> 4];
    out[2 * i + 1] = k[p[i] & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view s) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d);
  return hex(d, sizeof d);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Header values: leading and trailing spaces dropped, inner runs of spaces
// collapsed to one (SigV4's canonical form).
std::string canonical_value(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string aws_uri_encode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string sigv4_timestamp(std::time_t now) {
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string sigv4_canonical_request(
    const SigV4Request& req,
    const std::vector<std::pair<std::string, std::string>>& signed_headers) {
  auto query = req.query;
  std::sort(query.begin(), query.end());
  std::string q;
  for (const auto& [k, v] : query) {
    q += (q.empty() ? "" : "&") + k + "=" + v;
  }
  std::string headers, names;
  for (const auto& [k, v] : signed_headers) {
    headers += k + ":" + v + "\n";
    names += (names.empty() ? "" : ";") + k;
  }
  return req.method + "\n" + req.path + "\n" + q + "\n" + headers + "\n" + names + "\n" +
         req.payload_hash;
}

std::vector<std::pair<std::string, std::string>> sign_v4(const SigV4Request& req,
                                                         const SigV4Credentials& creds,
                                                         const std::string& region,
                                                         const std::string& service,
                                                         std::time_t now) {
  const std::string stamp = sigv4_timestamp(now);
  const std::string date = stamp.substr(0, 8);
  std::vector<std::pair<std::string, std::string>> added = {
      {"x-amz-content-sha256", req.payload_hash}, {"x-amz-date", stamp}};
  if (!creds.session_token.empty()) {
    added.emplace_back("x-amz-security-token", creds.session_token);
  }
  // Everything sent is signed: the caller's headers, ours, and Host.
  std::vector<std::pair<std::string, std::string>> signed_headers = {
      {"host", canonical_value(req.host)}};
  for (const auto& [k, v] : req.headers) {
    signed_headers.emplace_back(lower(k), canonical_value(v));
  }
  for (const auto& [k, v] : added) {
    signed_headers.emplace_back(k, v);
  }
  std::sort(signed_headers.begin(), signed_headers.end());
  std::string names;
  for (const auto& [k, v] : signed_headers) {
    names += (names.empty() ? "" : ";") + k;
  }
  const std::string scope = date + "/" + region + "/" + service + "/aws4_request";
  const std::string to_sign = "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" +
                              sha256_hex(sigv4_canonical_request(req, signed_headers));
  std::string key = hmac_sha256("AWS4" + creds.secret, date);
  key = hmac_sha256(key, region);
  key = hmac_sha256(key, service);
  key = hmac_sha256(key, "aws4_request");
  std::string sig = hmac_sha256(key, to_sign);
  added.emplace_back(
      "authorization",
      "AWS4-HMAC-SHA256 Credential=" + creds.key_id + "/" + scope + ", SignedHeaders=" + names +
          ", Signature=" + hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size()));
  return added;
}

}  // namespace zipllm::remote
