#include <doctest/doctest.h>

#include <map>

#include "remote/sigv4.h"

using namespace zipllm::remote;

namespace {

std::map<std::string, std::string> as_map(
    const std::vector<std::pair<std::string, std::string>>& v) {
  return {v.begin(), v.end()};
}

std::string signature_of(const std::string& authorization) {
  return authorization.substr(authorization.rfind("Signature=") + 10);
}

}  // namespace

// AWS's own example (S3 API reference, "Signature Calculations for the
// Authorization Header": GET Object with a Range header); the expected
// signature is the documented one, and botocore computes the same.
TEST_CASE("sigv4: the AWS documentation's GET Object example") {
  SigV4Request r;
  r.method = "GET";
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = "/test.txt";
  r.headers = {{"Range", "bytes=0-9"}};
  r.payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  SigV4Credentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  std::time_t t = 1369353600;  // 2013-05-24T00:00:00Z
  auto h = as_map(sign_v4(r, c, "us-east-1", "s3", t));
  CHECK(h["x-amz-date"] == "20130524T000000Z");
  CHECK(h.count("x-amz-security-token") == 0);
  CHECK(h["authorization"] ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

// Computed with botocore 1.29 (Debian's python3-botocore) for the same
// request: a path with a space, '+', '%' and UTF-8, a query, a token.
TEST_CASE("sigv4: encoded path, query and session token agree with botocore") {
  SigV4Request r;
  r.method = "PUT";
  r.host = "127.0.0.1:9000";
  r.path = "/models/" + aws_uri_encode("team a/+%/\xc3\xa9", true) + "/objects/ab/cd";
  CHECK(r.path == "/models/team%20a/%2B%25/%C3%A9/objects/ab/cd");
  r.query = {{"uploadId", aws_uri_encode("x/y", false)}, {"partNumber", "2"}};
  SigV4Credentials c{"S3RVER", "S3RVER", "tok/en+="};
  std::time_t t = 1796169599;  // 2026-12-01T23:59:59Z
  auto h = as_map(sign_v4(r, c, "eu-west-3", "s3", t));
  CHECK(h["x-amz-security-token"] == "tok/en+=");
  CHECK(h["authorization"].find(
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") !=
        std::string::npos);
  CHECK(signature_of(h["authorization"]) ==
        "d569dc05b7580d702b2401f3377b1381e3ee4098f344bfb26068a2e1ca3d6f30");
}

TEST_CASE("sigv4: every header sent is signed, none that is not") {
  SigV4Request r;
  r.method = "POST";
  r.host = "h";
  r.path = "/b/k";
  r.headers = {{"Content-Type", "application/xml"}, {"x-amz-checksum-sha256", " abc  def "}};
  auto h = as_map(sign_v4(r, SigV4Credentials{"k", "s", ""}, "r", "s3", 0));
  CHECK(h["authorization"].find("SignedHeaders=content-type;host;x-amz-checksum-sha256;x-amz-"
                                "content-sha256;x-amz-date,") != std::string::npos);
  CHECK(h["authorization"].find("expect") == std::string::npos);
  auto canonical = sigv4_canonical_request(r, {{"x-amz-checksum-sha256", "abc def"}});
  CHECK(canonical.find("x-amz-checksum-sha256:abc def\n") != std::string::npos);
}

TEST_CASE("sigv4: URI encoding") {
  CHECK(aws_uri_encode("a-b_c.d~e", false) == "a-b_c.d~e");
  CHECK(aws_uri_encode("a b+c=d&e/f", false) == "a%20b%2Bc%3Dd%26e%2Ff");
  CHECK(aws_uri_encode("a/b", true) == "a/b");
  CHECK(aws_uri_encode("\xe2\x82\xac", true) == "%E2%82%AC");
}
