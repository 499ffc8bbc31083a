// AWS Signature Version 4 for S3 requests, computed here rather than by
// libcurl: Debian 12's libcurl 7.88 (CURLOPT_AWS_SIGV4) lists `expect` in
// SignedHeaders whenever the caller removes the Expect header, which AWS
// refuses and MinIO cannot verify (curl issue #11664). Here exactly the
// headers that are sent are signed.
//
//   canonical request := METHOD \n PATH \n QUERY \n HEADERS \n SIGNED \n PAYLOAD_HASH
//   string to sign    := "AWS4-HMAC-SHA256" \n DATE_TIME \n SCOPE \n hex(SHA256(canonical request))
//   signing key       := HMAC(HMAC(HMAC(HMAC("AWS4" SECRET, DATE), REGION), SERVICE),
//   "aws4_request")
//
// Pure (no clock, no environment, no I/O): the caller passes the time.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace zipllm::remote {

// RFC 3986 percent-encoding as SigV4 wants it: everything but
// A-Z a-z 0-9 - . _ ~ (and '/' when `keep_slash`) as %XX, upper-case hex.
std::string aws_uri_encode(std::string_view s, bool keep_slash);

struct SigV4Request {
  std::string method;  // "GET", "PUT", ...
  std::string
      host;  // the Host header as sent: "bucket.s3.eu-west-3.amazonaws.com", "127.0.0.1:9000"
  std::string
      path;  // as sent, already encoded with aws_uri_encode(.., true): "/bucket/objects/ab/cd"
  // Query parameters as sent, keys and values already encoded; any order.
  std::vector<std::pair<std::string, std::string>> query;
  // Further headers to send and sign (names in any case; values trimmed).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_hash = "UNSIGNED-PAYLOAD";  // or the body's SHA-256 in hex
};

struct SigV4Credentials {
  std::string key_id;
  std::string secret;
  std::string session_token;  // empty when none
};

// The headers to add to the request (x-amz-date, x-amz-content-sha256,
// x-amz-security-token when there is a token, authorization), given the
// time of the request.
std::vector<std::pair<std::string, std::string>> sign_v4(const SigV4Request& req,
                                                         const SigV4Credentials& creds,
                                                         const std::string& region,
                                                         const std::string& service,
                                                         std::time_t now);

// The pieces, for tests and for explaining a refusal.
std::string sigv4_canonical_request(
    const SigV4Request& req,
    const std::vector<std::pair<std::string, std::string>>& signed_headers);
std::string sigv4_timestamp(std::time_t now);  // "20130524T000000Z"

}  // namespace zipllm::remote
