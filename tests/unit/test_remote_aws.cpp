// Pure parts of the AWS and S3 code: URLs, INI files, what credential
// sources answer, timestamps.
#include <doctest/doctest.h>

#include "remote/aws.h"
#include "remote/http.h"
#include "remote/s3_remote.h"

using namespace zipllm::remote;

TEST_CASE("s3 URLs") {
  auto l = parse_s3_url(
      "s3://models/team/sub/?endpoint=http://127.0.0.1:9000&region=eu-west-3&path-style=false");
  REQUIRE(l);
  CHECK(l->bucket == "models");
  CHECK(l->prefix == "team/sub");
  CHECK(l->settings.endpoint == "http://127.0.0.1:9000");
  CHECK(l->settings.region == "eu-west-3");
  CHECK(l->settings.path_style == false);
  auto plain = parse_s3_url("s3://models");
  REQUIRE(plain);
  CHECK(plain->prefix.empty());
  CHECK(parse_s3_url("s3://models/a b+c%d")->prefix ==
        "a b+c%d");                            // kept as written, encoded on the wire
  CHECK_FALSE(parse_s3_url("s3://Models/x"));  // bucket names are lower case
  CHECK_FALSE(parse_s3_url("s3://ab/x"));      // and at least 3 characters
  CHECK_FALSE(parse_s3_url("s3://bucket/x?color=red"));
  CHECK_FALSE(parse_s3_url("https://bucket/x"));
}

TEST_CASE("AWS ini files") {
  auto ini = parse_aws_ini(
      "[default]\naws_access_key_id = AKIA\nAWS_Secret_Access_Key=s3cr3t\n# c\n; c\n"
      "[profile team]\nregion = eu-west-3\ncredential_process = /bin/creds --x\n"
      "orphan\n");
  CHECK(ini["default"]["aws_access_key_id"] == "AKIA");
  CHECK(ini["default"]["aws_secret_access_key"] == "s3cr3t");  // keys lower-cased
  CHECK(ini["profile team"]["region"] == "eu-west-3");
  CHECK(ini["profile team"]["credential_process"] == "/bin/creds --x");
}

TEST_CASE("credential answers: process/container/IMDS JSON and STS XML") {
  auto c = parse_credentials_json(
      R"({"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK","SessionToken":"T","Expiration":"2026-12-01T23:59:59Z"})",
      "test");
  REQUIRE(c);
  CHECK(c->key_id == "AK");
  CHECK(c->session_token == "T");
  CHECK(c->expires == 1796169599);
  auto imds = parse_credentials_json(
      R"({"Code":"Success","AccessKeyId":"AK","SecretAccessKey":"SK","Token":"T2"})", "imds");
  REQUIRE(imds);
  CHECK(imds->session_token == "T2");
  CHECK(imds->expires == 0);
  CHECK_FALSE(parse_credentials_json("{}", "x"));
  CHECK_FALSE(parse_credentials_json("not json", "x"));
  CHECK_FALSE(parse_credentials_json(
      R"({"AccessKeyId":"AK","SecretAccessKey":"SK","Expiration":"soon"})", "x"));
  auto sts = parse_sts_credentials(
      "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
      "<AccessKeyId>AK</AccessKeyId><SecretAccessKey>SK</SecretAccessKey><SessionToken>ST</"
      "SessionToken>"
      "<Expiration>2026-12-01T23:59:59.123Z</Expiration></Credentials></"
      "AssumeRoleWithWebIdentityResult>"
      "</AssumeRoleWithWebIdentityResponse>");
  REQUIRE(sts);
  CHECK(sts->session_token == "ST");
  CHECK(sts->expires == 1796169599);
  CHECK_FALSE(parse_sts_credentials("<Error/>"));
}

TEST_CASE("ISO 8601 times") {
  CHECK(parse_iso8601("2026-12-01T23:59:59Z") == 1796169599);
  CHECK(parse_iso8601("2026-12-01T23:59:59+00:00") == 1796169599);
  CHECK(parse_iso8601("2026-12-02T01:59:59+02:00") == 1796169599);
  CHECK(parse_iso8601("2026-12-01T23:59:59.5Z") == 1796169599);
  CHECK(parse_iso8601("yesterday") == 0);
}

TEST_CASE("loopback URLs") {
  CHECK(http::is_loopback("http://127.0.0.1:9000/x"));
  CHECK(http::is_loopback("http://localhost/"));
  CHECK(http::is_loopback("http://[::1]:80"));
  CHECK(http::is_loopback("http://user:pw@127.0.0.5"));
  CHECK_FALSE(http::is_loopback("http://127.0.0.1.evil.example/"));
  CHECK_FALSE(http::is_loopback("http://10.0.0.1"));
  CHECK_FALSE(http::is_loopback("http://localhost.evil.example"));
}
