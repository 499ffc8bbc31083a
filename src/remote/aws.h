// AWS configuration the way the AWS CLI and SDKs find it: credentials from
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the
// shared credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
// profile AWS_PROFILE or "default"); region from AWS_REGION,
// AWS_DEFAULT_REGION, then the config file (AWS_CONFIG_FILE or
// ~/.aws/config); endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace zipllm::remote {

struct AwsCredentials {
  std::string key_id;
  std::string secret;
  std::string session_token;  // empty when none
};

// nullopt when nothing is configured (requests go unsigned: public buckets).
std::optional<AwsCredentials> aws_credentials();
std::optional<std::string> aws_region();
std::optional<std::string> aws_endpoint();

// INI sections of an AWS config/credentials file: section -> key -> value.
// Keys are lowercased; "[profile x]" stays as written.
std::map<std::string, std::map<std::string, std::string>> parse_aws_ini(const std::string& text);

}  // namespace zipllm::remote
