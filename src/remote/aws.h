// AWS configuration the way the AWS CLI and SDKs find it.
//
// Credentials, first source that is configured wins:
//   1. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY [/ AWS_SESSION_TOKEN]
//   2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
//      [+ AWS_ROLE_SESSION_NAME] -> STS AssumeRoleWithWebIdentity (as on
//      Kubernetes/EKS); STS at AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, else
//      https://sts.<region>.amazonaws.com
//   3. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or
//      ~/.aws/credentials), profile AWS_PROFILE or "default": keys, or
//      credential_process
//   4. the config file (AWS_CONFIG_FILE or ~/.aws/config), "[profile X]"
//      or "[default]": keys, or credential_process (a command printing
//      {"Version":1,"AccessKeyId",...,"Expiration"} on stdout)
//   5. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (at
//      169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI (loopback or
//      https), with AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]
//   6. EC2 instance metadata, IMDSv2 (a session token first), at
//      AWS_EC2_METADATA_SERVICE_ENDPOINT or 169.254.169.254, unless
//      AWS_EC2_METADATA_DISABLED=true; one quick attempt (not on EC2: none)
// None: requests go unsigned (public buckets).
//
// Region: AWS_REGION, AWS_DEFAULT_REGION, then the config file. Endpoint:
// AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL.
#pragma once

#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "util/result.h"

namespace zipllm::remote {

struct AwsCredentials {
  std::string key_id;
  std::string secret;
  std::string session_token;  // empty when none
  std::time_t expires = 0;    // 0: does not expire
  std::string source;         // where they came from, for messages ("environment", "IMDSv2", ...)
};

// Where credentials come from, found once, fetched again before they expire
// (temporary credentials: STS, containers, instances), so a push longer than
// their lifetime keeps working. Thread-safe.
class AwsCredentialProvider {
 public:
  // The first configured source of the list above; a provider that gives
  // nothing when none is.
  static std::shared_ptr<AwsCredentialProvider> from_environment();
  // Current credentials (refreshed when they expire within 5 minutes);
  // nothing for anonymous access. An error when a configured source fails
  // (an STS refusal, a credential_process that fails), naming it.
  Result<std::optional<AwsCredentials>> get();

  enum class Source {
    None,
    Environment,
    WebIdentity,
    SharedFile,
    ConfigFile,
    Container,
    InstanceMetadata
  };
  Source source() const { return m_source; }

 private:
  Result<std::optional<AwsCredentials>> fetch();
  Source m_source = Source::None;
  std::string m_profile_section;  // the section of the file that names the source
  std::mutex m_mutex;
  std::optional<AwsCredentials> m_cached;
};

std::optional<std::string> aws_region();
std::optional<std::string> aws_endpoint();

// INI sections of an AWS config/credentials file: section -> key -> value.
// Keys are lowercased; "[profile x]" stays as written.
std::map<std::string, std::map<std::string, std::string>> parse_aws_ini(const std::string& text);

// Parsers of what the credential sources answer (pure; for tests).
// The JSON of credential_process, containers and IMDS ("Token" or
// "SessionToken"); the XML of STS AssumeRoleWithWebIdentity.
Result<AwsCredentials> parse_credentials_json(const std::string& text, const std::string& source);
Result<AwsCredentials> parse_sts_credentials(const std::string& xml);
// "2026-12-01T23:59:59Z", with optional fractions and "+00:00"; 0 if bad.
std::time_t parse_iso8601(const std::string& s);

}  // namespace zipllm::remote
