// S3-compatible object storage (AWS S3, MinIO, Ceph RGW, s3rver) over
// HTTP (remote/http.h), every request signed with SigV4 (remote/sigv4.h)
// when credentials are found (remote/aws.h), unsigned otherwise.
//
// Objects up to the multipart threshold (256 MiB; never above S3's 5 GiB
// single-PUT limit) go up in one PUT; larger ones as a multipart upload
// (each part retried on its own; parts grown so no object needs more than
// 10,000), which S3 makes visible only when completed, so a key is never
// seen half written. Payloads are sent as UNSIGNED-PAYLOAD (the object
// container carries its own checksums, verified on download) with an
// x-amz-checksum-sha256 header on single PUTs when
// GIT_ZIPLLM_S3_CHECKSUM=1, so the store itself checks what it received.
//
// A bucket in another region than the one configured (AWS answers 301
// PermanentRedirect or 400 AuthorizationHeaderMalformed, naming the region
// in x-amz-bucket-region) is followed once: requests are signed for that
// region from then on, and the user is told which region to configure.
// Thread-safe.
#pragma once

#include <mutex>

#include "remote/aws.h"
#include "remote/remote_store.h"

namespace zipllm::remote {

struct S3Location {
  std::string bucket;
  std::string prefix;   // without leading or trailing '/'; may be empty
  S3Settings settings;  // from the URL's query, if any
};

// Parses "s3://bucket[/prefix][?endpoint=URL&region=R&path-style=true|false]".
// The prefix may hold any characters; they are percent-encoded on the wire.
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

  Result<PruneStats> prune(const std::function<bool(const ObjectId&)>& needed,
                           std::chrono::system_clock::time_point cutoff, bool dry_run,
                           const std::function<void(const ObjectId&, uint64_t)>& listed) override;
  Result<std::vector<std::string>> lfs_oids() override;
  Result<std::vector<std::string>> list(const std::string& prefix) override;

  // Every key under `sub` (below the store's prefix; "objects/"), as
  // ListObjectsV2 pages them (1,000 at a time): the key without the store's
  // prefix, its size and its last modification (Unix seconds).
  Status list_keys(const std::string& sub,
                   const std::function<void(const std::string&, uint64_t, int64_t)>& each);
  // DeleteObjects, 1,000 keys per request; a key S3 reports it could not
  // delete is an error naming it.
  Status delete_keys(const std::vector<std::string>& keys);

  // The endpoint and region requests go to now (for messages and tests).
  std::string endpoint() const;
  std::string region() const;

  struct Call;  // one S3 request (s3_remote.cpp)

 private:
  S3Remote() = default;
  Result<std::string> perform(Call& call);
  Result<std::optional<int64_t>> head_size(const std::string& key);
  Status put_multipart(const std::string& key, int fd, uint64_t offset, uint64_t length,
                       const ByteCounter& counter);

  std::string m_url;  // redacted: for messages only
  std::string m_bucket;
  std::string m_prefix;
  bool m_custom_endpoint = false;
  bool m_path_style = true;
  std::shared_ptr<AwsCredentialProvider> m_creds;
  uint64_t m_multipart_threshold = 0;
  uint64_t m_part_size = 0;
  bool m_checksum = false;
  long m_connect_timeout_ms = 10000;
  long m_stall_seconds = 60;
  uint64_t m_max_send_speed = 0;
  mutable std::mutex m_mutex;  // guards the two below (a region redirect changes them)
  std::string m_endpoint;
  std::string m_region;
  bool m_redirected = false;
};

}  // namespace zipllm::remote
