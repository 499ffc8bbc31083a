#include <doctest/doctest.h>

#include "util/redact.h"

using zipllm::redact;
using zipllm::strip_userinfo;

// Issue 10, defect 12: credentials in URLs reached error messages.
TEST_CASE("redact: credentials in URLs and secret query parameters") {
  CHECK(redact("cannot reach https://alice:TOKEN@hub.example/x.git: refused") ==
        "cannot reach https://***@hub.example/x.git: refused");
  CHECK(redact("s3://b/p?endpoint=http://bob:PW@10.0.0.1:9000&region=r") ==
        "s3://b/p?endpoint=http://***@10.0.0.1:9000&region=r");
  CHECK(redact("GET https://h/k?X-Amz-Signature=abc123&x=1") ==
        "GET https://h/k?X-Amz-Signature=***&x=1");
  CHECK(redact("https://h/k?a=1&token=s3cr3t") == "https://h/k?a=1&token=***");
  CHECK(redact("https://user@host/x") == "https://***@host/x");
  CHECK(redact("no urls here, a@b and key=v") == "no urls here, a@b and key=v");
  CHECK(redact("file:///srv/store") == "file:///srv/store");
  CHECK(redact("http://h/a@b") == "http://h/a@b");  // '@' in the path is not user information
  CHECK(redact("") == "");
  CHECK(redact("ends with ://") == "ends with ://");
}

TEST_CASE("strip_userinfo") {
  CHECK(strip_userinfo("https://alice:TOKEN@hub.example/x.git") == "https://hub.example/x.git");
  CHECK(strip_userinfo("https://hub.example/x.git") == "https://hub.example/x.git");
  CHECK(strip_userinfo("/local/path") == "/local/path");
  CHECK(strip_userinfo("http://h/a@b") == "http://h/a@b");
}
