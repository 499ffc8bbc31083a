#include "store/local_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <set>

#include "store/object_io.h"

namespace zipllm::store {

namespace {

class FileOutput : public ObjectOutput {
 public:
  explicit FileOutput(AtomicFile file) : m_file(std::move(file)) {}
  Status append(ByteView data) override { return m_file.write(data); }
  Status write_at(uint64_t offset, ByteView data) override { return m_file.pwrite(offset, data); }
  Status commit() override { return m_file.commit(/*keep_existing=*/true); }

 private:
  AtomicFile m_file;
};

}  // namespace

// A small object: written into the store's open batch pack.
class BatchedOutput : public ObjectOutput {
 public:
  BatchedOutput(LocalStore& s, ObjectId id, std::unique_ptr<ObjectOutput> inner)
      : m_store(s), m_id(id), m_inner(std::move(inner)) {}
  Status append(ByteView data) override { return m_inner->append(data); }
  Status write_at(uint64_t offset, ByteView data) override {
    return m_inner->write_at(offset, data);
  }
  Status commit() override {
    TRY_STATUS(m_inner->commit());
    std::lock_guard lock(m_store.m_mutex);
    m_store.m_batch_ids.insert(m_id);
    return {};
  }

 private:
  LocalStore& m_store;
  ObjectId m_id;
  std::unique_ptr<ObjectOutput> m_inner;
};

Result<std::unique_ptr<LocalStore>> LocalStore::open(const std::string& root,
                                                     uint64_t pack_threshold) {
  TRY_STATUS(make_dirs(root + "/objects"));
  TRY_STATUS(make_dirs(root + "/packs"));
  return std::unique_ptr<LocalStore>(new LocalStore(root, pack_threshold));
}

LocalStore::~LocalStore() = default;  // an unfinished batch is discarded

std::string LocalStore::path_of(const ObjectId& id) const {
  std::string hex = id.hex();
  return m_root + "/objects/" + hex.substr(0, 2) + "/" + hex.substr(2);
}

void LocalStore::scan_packs() const {
  // A miss (every new tensor during ingest) would otherwise list the folder
  // each time. Publishing a pack renames into packs/, which changes its
  // mtime; a timestamp from the last two seconds is not trusted (two changes
  // may share a tick).
  struct stat st;
  if (::stat((m_root + "/packs").c_str(), &st) == 0) {
    int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    if (mtime == m_packs_mtime_ns && now - mtime > 2'000'000'000) {
      return;
    }
    m_packs_mtime_ns = mtime;
  }
  for (const auto& path : list_dir(m_root + "/packs")) {
    std::string name = path.substr(path.rfind('/') + 1);
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".zpk") != 0 ||
        m_pack_names.count(name)) {
      continue;
    }
    auto r = PackReader::open(path);
    if (r) {
      m_pack_names.insert(name);
      m_packs.push_back(std::move(*r));
      m_bad_packs.erase(name);
    } else {
      m_bad_packs[name] = r.error().message;
    }
  }
}

bool LocalStore::in_packs(const ObjectId& id, std::optional<ObjectLocation>* loc) const {
  std::lock_guard lock(m_mutex);
  for (int pass = 0; pass < 2; ++pass) {
    for (auto it = m_packs.begin(); it != m_packs.end(); ++it) {
      const auto& p = *it;
      if (p->contains(id)) {
        if (loc) {
          auto l = p->locate(id);
          if (!l && !path_exists(p->path())) {
            // Replaced by a rewritten pack (repack) or pruned meanwhile by
            // another process: forget it and look again.
            m_pack_names.erase(p->path().substr(p->path().rfind('/') + 1));
            m_packs.erase(it);
            break;
          }
          if (l) {
            *loc = *l;
          }
        }
        return true;
      }
    }
    if (pass == 0) {
      scan_packs();  // another process may have published a pack since
    }
  }
  return false;
}

bool LocalStore::contains(const ObjectId& id) const {
  {
    std::lock_guard lock(m_mutex);
    if (m_batch_ids.count(id)) {
      return true;
    }
  }
  struct stat st;
  if (::stat(path_of(id).c_str(), &st) == 0) {
    return true;  // a directory here is damage that locate() and verify report
  }
  return in_packs(id, nullptr);
}

Result<std::optional<ObjectLocation>> LocalStore::locate(const ObjectId& id) const {
  std::string path = path_of(id);
  // Objects are regular files: a symbolic link is never followed.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ELOOP) {
      return make_error(Errc::Corrupt, "object " + id.hex() + ": " + path + " is a symbolic link");
    }
    if (errno != ENOENT) {
      return os_error("cannot open object", path, errno);
    }
    std::optional<ObjectLocation> loc;
    in_packs(id, &loc);
    return loc;
  }
  auto owned = std::make_shared<const Fd>(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return os_error("cannot stat", path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(Errc::Corrupt, "object " + id.hex() + ": " + path + " is not a regular file");
  }
  ObjectLocation loc{owned, 0, static_cast<uint64_t>(st.st_size), path};
  loc.foreign = (st.st_mode & 07777) == k_foreign_mode;
  return std::optional<ObjectLocation>(std::move(loc));
}

namespace {

// A folder of the store that is written into: a real directory, created if
// missing, never a symbolic link (which would send writes elsewhere).
Status real_dir(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return os_error("cannot stat", path, errno);
    }
    TRY_STATUS(make_dirs(path));
    if (::lstat(path.c_str(), &st) != 0) {
      return os_error("cannot stat", path, errno);
    }
  }
  if (S_ISLNK(st.st_mode)) {
    return make_error(Errc::Corrupt,
                      path + " is a symbolic link; refusing to write objects through it");
  }
  if (!S_ISDIR(st.st_mode)) {
    return make_error(Errc::Corrupt, path + " is not a directory");
  }
  return {};
}

}  // namespace

LocalStore::Holding LocalStore::holding(const ObjectId& id) {
  {
    std::lock_guard lock(m_mutex);
    if (m_batch_ids.count(id)) {
      return Holding::Own;  // written by this process, not published yet
    }
  }
  auto loc = locate(id);
  if (loc && !*loc) {
    return Holding::None;
  }
  Status s = loc ? check_encoded(**loc, id) : Status(loc.error());
  if (s) {
    touch_if_stale(**loc);  // about to be relied on: not prunable for a while
    return (*loc)->foreign ? Holding::Foreign : Holding::Own;
  }
  (void)quarantine(id);
  return Holding::None;
}

void LocalStore::freshen(const ObjectId& id) const {
  auto loc = locate(id);
  if (loc && *loc) {
    touch_if_stale(**loc);
  }
}

void LocalStore::touch_if_stale(const ObjectLocation& loc) {
  if (!loc.fd) {
    return;
  }
  int fd = loc.fd->get();
  struct stat st;
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  if (::fstat(fd, &st) == 0 &&
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::minutes(5) < now) {
    (void)::futimens(fd, nullptr);  // best effort: prune's grace is the safety net
  }
}

Result<LocalStore::PruneStats> LocalStore::prune(
    const std::function<bool(const ObjectId&)>& needed,
    std::chrono::system_clock::time_point cutoff, bool dry_run,
    const std::function<void(const ObjectId&, uint64_t)>& unneeded) {
  PruneStats st;
  const int64_t cutoff_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(cutoff.time_since_epoch()).count();
  auto old_enough = [&](const struct stat& s) {
    return int64_t(s.st_mtim.tv_sec) * 1'000'000'000 + s.st_mtim.tv_nsec < cutoff_ns;
  };
  for (const auto& fan : list_dir(m_root + "/objects")) {
    std::string dir = fan.substr(fan.rfind('/') + 1);
    if (dir.size() != 2 || !is_plain_dir(fan)) {
      continue;
    }
    for (const auto& path : list_dir(fan)) {
      auto id = ObjectId::from_hex(dir + path.substr(path.rfind('/') + 1));
      struct stat s;
      if (!id || needed(*id) || ::lstat(path.c_str(), &s) != 0 || !S_ISREG(s.st_mode)) {
        continue;  // temp files do not parse as ids; gc removes stale ones
      }
      if (unneeded) {
        unneeded(*id, static_cast<uint64_t>(s.st_size));
      }
      if (!old_enough(s)) {
        ++st.recent;
        continue;
      }
      if (!dry_run && ::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return os_error("cannot delete", path, errno);
      }
      ++st.objects;
      st.bytes += static_cast<uint64_t>(s.st_size);
    }
  }
  std::lock_guard lock(m_mutex);
  scan_packs();
  // A needed object also held loose or by another pack does not need this
  // pack: the copies a killed repack or a quarantine left behind go too.
  std::set<const PackReader*> gone;  // deleted (or, dry run, would be)
  auto elsewhere = [&](const ObjectId& id, const PackReader* self) {
    struct stat ls;
    if (::lstat(path_of(id).c_str(), &ls) == 0 && S_ISREG(ls.st_mode)) {
      return true;
    }
    for (const auto& other : m_packs) {
      if (other.get() != self && !gone.count(other.get()) && other->contains(id)) {
        return true;
      }
    }
    return false;
  };
  for (auto it = m_packs.begin(); it != m_packs.end();) {
    const PackReader& p = **it;
    auto ids = p.ids();
    size_t dropped = 0, copies = 0;
    for (const auto& id : ids) {
      if (!needed(id)) {
        ++dropped;
        if (unneeded) {
          auto loc = p.locate(id);  // the pack's own index: no store lock taken
          unneeded(id, loc && *loc ? (*loc)->length : 0);
        }
      } else if (elsewhere(id, &p)) {
        ++copies;
      }
    }
    struct stat s;
    if (dropped + copies < ids.size() || ::stat(p.path().c_str(), &s) != 0) {
      st.packed += dropped;
      ++it;
      continue;
    }
    if (!old_enough(s)) {
      st.recent += dropped;
      ++it;
      continue;
    }
    if (!dry_run) {
      if (::unlink(p.path().c_str()) != 0 && errno != ENOENT) {
        return os_error("cannot delete", p.path(), errno);
      }
      m_pack_names.erase(p.path().substr(p.path().rfind('/') + 1));
      it = m_packs.erase(it);
    } else {
      gone.insert(&p);
      ++it;
    }
    ++st.packs;
    st.objects += ids.size();
    st.bytes += static_cast<uint64_t>(s.st_size);
  }
  return st;
}

Status LocalStore::vouch(const ObjectId& id) {
  std::string path = path_of(id);
  if (::chmod(path.c_str(), k_own_mode) != 0 && errno != ENOENT) {
    return os_error("cannot chmod", path, errno);
  }
  return {};
}

Status LocalStore::quarantine(const ObjectId& id) {
  std::string path = path_of(id);
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    TRY_STATUS(make_dirs(m_root + "/corrupt"));
    std::string to = m_root + "/corrupt/" + id.hex() + "." + std::to_string(::getpid()) + "." +
                     std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
    if (::rename(path.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return os_error("cannot move the damaged object aside:", path, errno);
    }
  }
  if (in_packs(id, nullptr)) {
    std::lock_guard lock(m_mutex);
    m_shadowed.insert(id);
  }
  return {};
}

Status LocalStore::quarantine_pack(const std::string& path) {
  TRY_STATUS(make_dirs(m_root + "/corrupt"));
  std::string name = path.substr(path.rfind('/') + 1);
  std::string to = m_root + "/corrupt/" + name + "." + std::to_string(::getpid());
  if (::rename(path.c_str(), to.c_str()) != 0 && errno != ENOENT) {
    return os_error("cannot move the damaged pack aside:", path, errno);
  }
  std::lock_guard lock(m_mutex);
  m_bad_packs.erase(name);
  return {};
}

Result<std::unique_ptr<ObjectOutput>> LocalStore::create(const ObjectId& id, uint64_t raw_size) {
  bool shadowed;
  {
    std::lock_guard lock(m_mutex);
    shadowed = m_shadowed.count(id) > 0;
  }
  if (raw_size < m_threshold && !shadowed) {
    std::lock_guard lock(m_mutex);
    if (!m_batch) {
      TRY_STATUS(real_dir(m_root + "/packs"));
      auto now = std::chrono::system_clock::now().time_since_epoch().count();
      std::string name =
          m_root + "/packs/pack-" + std::to_string(now) + "-" + std::to_string(::getpid()) + ".zpk";
      m_batch = TRY(PackWriter::open_new(name));
    }
    auto inner = TRY(m_batch->create(id, raw_size));
    return std::unique_ptr<ObjectOutput>(new BatchedOutput(*this, id, std::move(inner)));
  }
  AtomicFile f = TRY(create_loose(id));
  return std::unique_ptr<ObjectOutput>(new FileOutput(std::move(f)));
}

Status LocalStore::replace_encodings(const std::map<ObjectId, std::string>& staged) {
  std::map<std::string, std::set<ObjectId>> by_pack;
  for (const auto& [id, file] : staged) {
    std::string loose = path_of(id);
    if (is_plain_file(loose)) {
      if (::chmod(file.c_str(), k_own_mode) != 0) {
        return os_error("cannot chmod", file, errno);
      }
      if (::rename(file.c_str(), loose.c_str()) != 0) {
        return os_error("cannot replace", loose, errno);
      }
      fsync_dir_of(loose);
      continue;
    }
    std::optional<ObjectLocation> loc;
    if (in_packs(id, &loc) && loc) {
      by_pack[loc->where].insert(id);
    }
    // Neither: deleted meanwhile (prune); nothing to replace.
  }
  for (const auto& [pack, ids] : by_pack) {
    auto reader = TRY(PackReader::open(pack));
    auto now = std::chrono::system_clock::now().time_since_epoch().count();
    auto writer = TRY(PackWriter::open_new(m_root + "/packs/pack-" + std::to_string(now) + "-" +
                                           std::to_string(::getpid()) + ".zpk"));
    std::vector<uint8_t> bytes;
    for (const auto& id : reader->ids()) {
      if (ids.count(id)) {
        bytes = TRY(read_whole_file(staged.at(id), uint64_t(1) << 32));
      } else {
        auto loc = TRY(reader->locate(id));
        bytes.resize(loc->length);
        TRY_STATUS(read_exact_at(loc->fd->get(), loc->offset, bytes, pack));
      }
      auto out = TRY(writer->create(id, bytes.size()));
      TRY_STATUS(out->append(bytes));
      TRY_STATUS(out->commit());
    }
    // The new pack is published before the old one goes: at every moment
    // each object has a readable encoding (both, for an instant).
    TRY_STATUS(writer->publish(reader->manifest()));
    if (::unlink(pack.c_str()) != 0 && errno != ENOENT) {
      return os_error("cannot delete", pack, errno);
    }
    std::lock_guard lock(m_mutex);
    std::string name = pack.substr(pack.rfind('/') + 1);
    m_pack_names.erase(name);
    std::erase_if(m_packs, [&](const auto& p) { return p->path() == pack; });
    scan_packs();
  }
  return {};
}

Result<AtomicFile> LocalStore::create_loose(const ObjectId& id, bool foreign, bool durable) {
  std::string path = path_of(id);
  TRY_STATUS(real_dir(m_root + "/objects"));
  TRY_STATUS(real_dir(path.substr(0, path.rfind('/'))));
  return AtomicFile::create(path, foreign ? k_foreign_mode : k_own_mode, durable);
}

Status LocalStore::adopt_loose(const ObjectId& id, const std::string& file, bool foreign) {
  if (contains(id)) {
    ::unlink(file.c_str());
    return {};
  }
  std::string path = path_of(id);
  TRY_STATUS(real_dir(m_root + "/objects"));
  TRY_STATUS(real_dir(path.substr(0, path.rfind('/'))));
  if (::chmod(file.c_str(), foreign ? k_foreign_mode : k_own_mode) != 0) {
    return os_error("cannot chmod", file, errno);
  }
  if (::rename(file.c_str(), path.c_str()) != 0) {
    return os_error("cannot move " + file + " to", path, errno);
  }
  fsync_dir_of(path);
  return {};
}

Status LocalStore::finish() {
  std::unique_ptr<PackWriter> batch;
  {
    std::lock_guard lock(m_mutex);
    batch = std::move(m_batch);
  }
  if (!batch) {
    return {};
  }
  TRY_STATUS(batch->publish(""));
  std::lock_guard lock(m_mutex);
  m_batch_ids.clear();
  scan_packs();
  return {};
}

std::vector<ObjectId> LocalStore::list_ids() const {
  std::set<ObjectId> ids;
  // objects/<2 hex>/<30 hex>: two levels, listed without following links.
  for (const auto& fan : list_dir(m_root + "/objects")) {
    std::string dir = fan.substr(fan.rfind('/') + 1);
    if (dir.size() != 2 || !is_plain_dir(fan)) {
      continue;
    }
    for (const auto& e : list_dir(fan)) {
      if (auto id = ObjectId::from_hex(dir + e.substr(e.rfind('/') + 1))) {
        ids.insert(*id);  // temp files (".tmp-…") do not parse as ids
      }
    }
  }
  std::lock_guard lock(m_mutex);
  scan_packs();
  for (const auto& p : m_packs) {
    for (const auto& id : p->ids()) {
      ids.insert(id);
    }
  }
  return {ids.begin(), ids.end()};
}

std::vector<std::pair<std::string, std::string>> LocalStore::bad_packs() const {
  std::lock_guard lock(m_mutex);
  m_packs_mtime_ns = -1;  // a full scan
  scan_packs();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, why] : m_bad_packs) {
    out.emplace_back(m_root + "/packs/" + name, why);
  }
  return out;
}

size_t LocalStore::pack_count() const {
  std::lock_guard lock(m_mutex);
  scan_packs();
  return m_packs.size();
}

}  // namespace zipllm::store
