// One LFS object at a git-zipllm hub, through the zipllm transfer adapter
// (docs/HUB.md): what `git zipllm transfer` does when git-lfs hands it a
// batch action (non-standalone mode). Everything it needs is the action's
// href (…/info/lfs/zipllm/OID) and headers (a token for that object):
//
//   missing(ids)   which objects the hub wants sent (POST href/missing)
//   put_object     one encoded object (PUT href/objects/ID)
//   commit(text)   the manifest, last (POST href/commit): the hub checks
//                  that the objects rebuild the file before storing any
//   manifest()     the stored manifest (GET href/manifest), if stored so
//   get_object     one object of that file (GET href/objects/ID)
//   get_whole      the file itself (GET href)
//
// As a RemoteStore it serves the transfer engine (upload_objects,
// download_closure): objects only; the other keys are not the hub's to give.
#pragma once

#include <set>
#include <utility>
#include <vector>

#include "remote/remote_store.h"

namespace zipllm::remote {

class HubObject : public RemoteStore {
 public:
  HubObject(std::string href, std::vector<std::pair<std::string, std::string>> headers);

  const std::string& url() const override { return m_href; }
  Status ping() override { return {}; }
  Result<bool> has(const std::string& key) override;
  Status put(const std::string& key, int fd, uint64_t offset, uint64_t length,
             const ByteCounter& counter) override;
  Status get(const std::string& key, int fd, const std::string& fd_name,
             const ByteCounter& counter) override;
  // Absent if missing() listed it, else present (the hub answered for it).
  Result<std::optional<uint64_t>> object_size(const ObjectId& id) override;
  Status put_object(const ObjectId& id, const store::ObjectLocation& loc,
                    const ByteCounter& counter) override;
  Status get_object(const ObjectId& id, int fd, const std::string& fd_name,
                    const ByteCounter& counter) override;
  Result<PruneStats> prune(const std::function<bool(const ObjectId&)>& needed,
                           std::chrono::system_clock::time_point cutoff, bool dry_run,
                           const std::function<void(const ObjectId&, uint64_t)>& listed) override;
  Result<std::vector<std::string>> lfs_oids() override;
  Result<std::vector<std::string>> list(const std::string& prefix) override;

  Result<std::vector<ObjectId>> missing(const std::vector<ObjectId>& ids);
  Status commit(const std::string& manifest_text);
  // None: the hub has the file but not as a manifest (not stored yet).
  Result<std::optional<std::string>> manifest();
  Status get_whole(int fd, const std::string& fd_name, const ByteCounter& counter);

 private:
  // One exchange; non-2xx answers become errors naming the URL and the
  // hub's message (5xx, 429: Unavailable, retried by the caller).
  struct Body {
    std::string text;
    int fd = -1;  // or `length` bytes at `offset` of this file
    uint64_t offset = 0, length = 0;
  };
  Result<std::string> exchange(const std::string& method, const std::string& url, Body body,
                               int out_fd = -1, const std::string& out_name = "",
                               const ByteCounter& counter = {}, long stall_seconds = 60);

  std::string m_href;
  std::vector<std::pair<std::string, std::string>> m_headers;
  std::set<ObjectId> m_missing;
};

}  // namespace zipllm::remote
