// A remote store that is a directory: local disk, NFS, or the store inside
// a git remote that is a local path. Objects are read through a LocalStore
// (so that store's packs count too); writes are loose files, temp + rename.
#pragma once

#include "remote/remote_store.h"
#include "store/local_store.h"

namespace zipllm::remote {

class DirRemote : public RemoteStore {
 public:
  static Result<std::unique_ptr<DirRemote>> open(const std::string& url, const std::string& root);

  const std::string& url() const override { return m_url; }
  bool is_local() const override { return true; }
  Status ping() override;
  Result<bool> has(const std::string& key) override;
  Status put(const std::string& key, int fd, uint64_t offset, uint64_t length,
             const ByteCounter& counter) override;
  Status get(const std::string& key, int fd, const std::string& fd_name,
             const ByteCounter& counter) override;

  Result<std::optional<uint64_t>> object_size(const ObjectId& id) override;
  Status get_object(const ObjectId& id, int fd, const std::string& fd_name,
                    const ByteCounter& counter) override;
  Result<PruneStats> prune(const std::function<bool(const ObjectId&)>& needed,
                           std::chrono::system_clock::time_point cutoff, bool dry_run,
                           const std::function<void(const ObjectId&, uint64_t)>& listed) override;
  Result<std::vector<std::string>> lfs_oids() override;
  Result<std::vector<std::string>> list(const std::string& prefix) override;
  // The directory as an object source (reads packs too).
  store::LocalStore& store() { return *m_store; }

 private:
  DirRemote(std::string url, std::string root, std::unique_ptr<store::LocalStore> s)
      : m_url(std::move(url)), m_root(std::move(root)), m_store(std::move(s)) {}
  std::string m_url;
  std::string m_root;
  std::unique_ptr<store::LocalStore> m_store;
};

// Copies `length` bytes at `offset` of `in` to the end of `out`, counting.
Status copy_range(int in, const std::string& in_name, uint64_t offset, uint64_t length, int out,
                  const std::string& out_name, const ByteCounter& counter);

}  // namespace zipllm::remote
