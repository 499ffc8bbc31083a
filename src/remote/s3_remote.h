// S3-compatible object storage (AWS S3, MinIO, Ceph RGW, s3rver) through
// libcurl, requests signed with SigV4 by libcurl (CURLOPT_AWS_SIGV4) when
// credentials are configured (remote/aws.h), unsigned otherwise.
//
// Objects up to k_multipart_threshold go up in one PUT; larger ones as a
// multipart upload (each part retried on its own), which S3 makes visible
// only when completed, so a key is never seen half written. Payloads are
// sent as UNSIGNED-PAYLOAD: the object container carries its own checksums,
// verified on download.
#pragma once

#include "remote/aws.h"
#include "remote/remote_store.h"

namespace zipllm::remote {

struct S3Location {
  std::string bucket;
  std::string prefix;  // without leading or trailing '/'; may be empty
  S3Settings settings;  // from the URL's query, if any
};

// Parses "s3://bucket[/prefix][?endpoint=URL&region=R&path-style=true|false]".
Result<S3Location> parse_s3_url(const std::string& url);

class S3Remote : public RemoteStore {
public:
  // `settings` fill what the URL's query leaves open.
  static Result<std::unique_ptr<S3Remote>> open(const std::string& url, const S3Settings& settings);

  const std::string& url() const override { return m_url; }
  Status ping() override;
  Result<bool> has(const std::string& key) override;
  Result<std::optional<uint64_t>> object_size(const ObjectId& id) override;
  Status put(const std::string& key, int fd, uint64_t offset, uint64_t length,
             const ByteCounter& counter) override;
  Status get(const std::string& key, int fd, const std::string& fd_name,
             const ByteCounter& counter) override;

  // The endpoint requests go to (for messages and tests).
  const std::string& endpoint() const { return m_endpoint; }

  struct Request;  // one HTTP exchange (s3_remote.cpp)
  struct Response;

private:
  S3Remote() = default;
  std::string key_url(const std::string& key, const std::string& query) const;
  std::string bucket_url() const;
  Result<Response> perform(Request& req);
  Result<std::optional<int64_t>> head_size(const std::string& key);
  Result<Response> put_range(const std::string& key, const std::string& query, int fd, uint64_t offset,
                             uint64_t length, const ByteCounter& counter);
  Status put_multipart(const std::string& key, int fd, uint64_t offset, uint64_t length,
                       const ByteCounter& counter);

  std::string m_url;
  std::string m_bucket;
  std::string m_prefix;
  std::string m_endpoint;
  std::string m_region;
  bool m_path_style = true;
  std::optional<AwsCredentials> m_creds;
  uint64_t m_multipart_threshold = 0;
  uint64_t m_part_size = 0;
};

}  // namespace zipllm::remote
