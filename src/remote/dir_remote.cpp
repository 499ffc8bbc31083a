#include "remote/dir_remote.h"

#include <sys/stat.h>

#include <vector>

namespace zipllm::remote {

Status copy_range(int in, const std::string& in_name, uint64_t offset, uint64_t length, int out,
                  const std::string& out_name, const ByteCounter& counter) {
  std::vector<uint8_t> buf(std::min<uint64_t>(length, 4u << 20));
  for (uint64_t done = 0; done < length;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), length - done));
    std::span<uint8_t> part(buf.data(), n);
    TRY_STATUS(read_exact_at(in, offset + done, part, in_name));
    TRY_STATUS(write_all(out, part, out_name));
    done += n;
    if (counter) {
      counter(n);
    }
  }
  return {};
}

Result<std::unique_ptr<DirRemote>> DirRemote::open(const std::string& url,
                                                   const std::string& root) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    // A store directory is created on first use, but its parent must exist:
    // a typo in the URL should not silently create a tree somewhere.
    std::string parent = root.substr(0, root.find_last_of('/'));
    if (parent.empty() || ::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return make_error(Errc::Unavailable,
                        "remote store " + url + ": folder " + parent + " does not exist");
    }
  }
  auto s = store::LocalStore::open(root, /*pack_threshold=*/0);
  if (!s) {
    return std::move(s).error().context("remote store " + url);
  }
  return std::unique_ptr<DirRemote>(new DirRemote(url, root, std::move(*s)));
}

Status DirRemote::ping() {
  if (!path_exists(m_root + "/objects")) {
    return make_error(Errc::Unavailable, "remote store " + m_url + " is gone");
  }
  return {};
}

Result<bool> DirRemote::has(const std::string& key) {
  return path_exists(m_root + "/" + key);
}

Result<std::optional<uint64_t>> DirRemote::object_size(const ObjectId& id) {
  auto loc = TRY(m_store->locate(id));
  if (!loc) {
    return std::optional<uint64_t>();
  }
  return std::optional<uint64_t>(loc->length);
}

Status DirRemote::put(const std::string& key, int fd, uint64_t offset, uint64_t length,
                      const ByteCounter& counter) {
  std::string path = m_root + "/" + key;
  TRY_STATUS(make_dirs(path.substr(0, path.rfind('/'))));
  // Pushed here from another store: foreign to this one (local_store.h).
  AtomicFile f = TRY(AtomicFile::create(path, store::LocalStore::k_foreign_mode));
  TRY_STATUS(copy_range(fd, "upload source", offset, length, f.fd(), f.temp_path(), counter));
  // An existing copy of the same size is the same content (losing a race
  // to it is fine); one of another size is damaged and gets replaced.
  bool same = false;
  if (auto existing = open_read(path)) {
    auto size = file_size(existing->get(), path);
    same = size && *size == length;
  }
  return f.commit(/*keep_existing=*/same);
}

Status DirRemote::get(const std::string& key, int fd, const std::string& fd_name,
                      const ByteCounter& counter) {
  std::string path = m_root + "/" + key;
  if (!path_exists(path)) {
    return make_error(Errc::NotFound, m_url + ": no " + key);
  }
  Fd in = TRY(open_read(path));
  uint64_t size = TRY(file_size(in.get(), path));
  return copy_range(in.get(), path, 0, size, fd, fd_name, counter);
}

Status DirRemote::get_object(const ObjectId& id, int fd, const std::string& fd_name,
                             const ByteCounter& counter) {
  auto loc = TRY(m_store->locate(id));
  if (!loc) {
    return make_error(Errc::NotFound, m_url + ": no object " + id.hex());
  }
  return copy_range(loc->fd->get(), loc->where, loc->offset, loc->length, fd, fd_name, counter);
}

Result<RemoteStore::PruneStats> DirRemote::prune(
    const std::function<bool(const ObjectId&)>& needed,
    std::chrono::system_clock::time_point cutoff, bool dry_run,
    const std::function<void(const ObjectId&, uint64_t)>& listed) {
  // The folder is a store like the local one: its own prune, packs and all.
  auto st = TRY_CTX(m_store->prune(needed, cutoff, dry_run, listed), "remote store " + m_url);
  return PruneStats{st.objects, st.bytes, st.recent + st.packed, 0};
}

Result<std::vector<std::string>> DirRemote::lfs_oids() {
  std::vector<std::string> out;
  for (const auto& f : list_files_recursive(m_root + "/lfs")) {
    std::string name = f.substr(f.rfind('/') + 1);
    if (name.size() == 64 && name.find(".tmp-") == std::string::npos) {
      out.push_back(name);
    }
  }
  return out;
}

Result<std::vector<std::string>> DirRemote::list(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& f : list_dir(m_root + "/" + prefix)) {
    std::string name = f.substr(f.rfind('/') + 1);
    if (name.find(".tmp-") == std::string::npos && is_plain_file(f)) {
      out.push_back(name);
    }
  }
  return out;
}

}  // namespace zipllm::remote
