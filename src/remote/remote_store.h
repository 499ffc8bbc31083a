// A remote object store: where objects travel to and from (push, fetch, the
// LFS door). Same layout as the local store (docs/FORMAT.md §5):
//
//   objects/<id[0:2]>/<id[2:32]>        one encoded object per key
//   lfs/<oid[0:2]>/<oid[2:4]>/<oid>      LFS door: the manifest of an LFS object
//
// Two kinds: a directory (a path or file://, also the store inside a
// local-path git remote, whose packs are read too) and S3-compatible object
// storage (s3://bucket/prefix). Every write is atomic: a key is either
// absent or complete (temp file + rename; a single PUT or a completed
// multipart upload). Implementations are safe to call from many threads.
//
// Errors: Unavailable for what a retry may fix (connection refused or
// reset, timeouts, HTTP 5xx/429), NotFound for a missing key, others for
// what a retry cannot fix (access denied, no such bucket). Every message
// names the URL.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "store/object_source.h"

namespace zipllm::remote {

// Called with the number of bytes moved since the last call.
using ByteCounter = std::function<void(uint64_t)>;

class RemoteStore {
 public:
  virtual ~RemoteStore() = default;
  // The URL as the user wrote it (for messages).
  virtual const std::string& url() const = 0;
  // Local disk: cheap to ask, so readers may consult it on every miss.
  virtual bool is_local() const { return false; }
  // Answers quickly whether the store can be reached at all.
  virtual Status ping() = 0;

  virtual Result<bool> has(const std::string& key) = 0;
  // Uploads `length` bytes at `offset` of `fd` to `key`.
  virtual Status put(const std::string& key, int fd, uint64_t offset, uint64_t length,
                     const ByteCounter& counter) = 0;
  // Appends the value of `key` to `fd` (positioned at 0, empty); NotFound if
  // absent. A failed get may leave partial bytes in `fd`: callers write to
  // a temp file.
  virtual Status get(const std::string& key, int fd, const std::string& fd_name,
                     const ByteCounter& counter) = 0;

  // The stored object's size, or nothing if absent. Uploads compare it with
  // the local object's: a store that is not atomic (s3rver killed mid-PUT
  // kept an empty file) must not make a truncated object look present.
  virtual Result<std::optional<uint64_t>> object_size(const ObjectId& id) = 0;
  Result<bool> has_object(const ObjectId& id) {
    auto size = TRY(object_size(id));
    return size.has_value();
  }
  // Objects, by default through the keys above.
  virtual Status put_object(const ObjectId& id, const store::ObjectLocation& loc,
                            const ByteCounter& counter) {
    return put(object_key(id), loc.fd->get(), loc.offset, loc.length, counter);
  }
  virtual Status get_object(const ObjectId& id, int fd, const std::string& fd_name,
                            const ByteCounter& counter) {
    return get(object_key(id), fd, fd_name, counter);
  }

  // `prune --remote`: deletes the objects (objects/ keys) that `needed`
  // rejects and that were last written before `cutoff` (a push uploads
  // objects before it updates refs: a young object may be about to become
  // needed). `dry_run` only counts. `listed` receives each (would-be)
  // deleted object and its size, before anything is deleted.
  struct PruneStats {
    uint64_t objects = 0, bytes = 0;  // deleted (or, dry run, deletable)
    uint64_t recent = 0;              // unneeded, kept: younger than the cutoff
    uint64_t kept = 0;                // needed
  };
  virtual Result<PruneStats> prune(
      const std::function<bool(const ObjectId&)>& needed,
      std::chrono::system_clock::time_point cutoff, bool dry_run,
      const std::function<void(const ObjectId&, uint64_t)>& listed) = 0;
  // The LFS door's objects here (the oids under lfs/).
  virtual Result<std::vector<std::string>> lfs_oids() = 0;
  // The names directly under `prefix` (ending in '/'): the model index's
  // markers (ops/model_index.h). Empty when there is nothing.
  virtual Result<std::vector<std::string>> list(const std::string& prefix) = 0;

  // Small values (manifests, index markers), through a memory file.
  Status put_text(const std::string& key, std::string_view text);
  // NotFound if absent; an error if longer than `max`.
  Result<std::string> get_text(const std::string& key, uint64_t max);

  static std::string object_key(const ObjectId& id);
  static std::string lfs_key(const std::string& oid);
};

// Settings an S3 URL needs beyond the URL itself; empty means "from the
// environment / default".
struct S3Settings {
  std::string endpoint;  // e.g. http://127.0.0.1:4568; default AWS
  std::string region;    // default AWS_REGION, AWS_DEFAULT_REGION, ~/.aws/config, us-east-1
  std::optional<bool> path_style;  // default: true with an endpoint, false for AWS
  // Send credentials over http:// to a host that is not this machine. Off
  // by default: a signed request there can be read (and replayed) by anyone
  // on the path. Only from the user's own config or GIT_ZIPLLM_S3_ALLOW_HTTP=1.
  bool allow_http = false;
};

// Opens the store at `url`: "s3://bucket[/prefix][?endpoint=..&region=..&path-style=true]",
// "file:///path" or a path. Opening does not touch the network.
Result<std::unique_ptr<RemoteStore>> open_remote(const std::string& url, const S3Settings& s3);

}  // namespace zipllm::remote
