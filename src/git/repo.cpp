#include "git/repo.h"

#include <git2.h>
#include <git2/sys/repository.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "format/manifest.h"
#include "git/base_registry.h"
#include "git/git_command.h"
#include "util/file.h"

namespace zipllm::git {

namespace {

Error lib_error(const std::string& what) {
  const ::git_error* e = git_error_last();
  return make_error(Errc::IoError, what + ": " + (e && e->message ? e->message : "libgit2 error"));
}

// Whether libgit2's last error is its refusal of a split index.
bool is_split_index_error() {
  const ::git_error* e = git_error_last();
  return e && e->message && std::strstr(e->message, "'link'") != nullptr;
}

std::string strip_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

}  // namespace

Result<Repo> Repo::open() {
  git_libgit2_init();
  git_repository* r = nullptr;
  int rc;
  std::string split_index;  // GIT_INDEX_FILE, when libgit2 cannot read it
  const char* work_tree = std::getenv("GIT_WORK_TREE");
  if (work_tree) {
    // libgit2 1.5's OPEN_FROM_ENV refuses GIT_WORK_TREE (git sets it for
    // filters in `git worktree add`, among others): open GIT_DIR (or
    // discover) and set the work tree ourselves.
    const char* git_dir = std::getenv("GIT_DIR");
    rc = git_repository_open_ext(&r, git_dir ? git_dir : ".",
                                 git_dir ? GIT_REPOSITORY_OPEN_NO_SEARCH : 0, nullptr);
    // libgit2 1.5's set_workdir leaks its path buffer when the work tree
    // is already the one it found: only call it for another one.
    char* real = ::realpath(work_tree, nullptr);
    const char* found = rc == 0 ? git_repository_workdir(r) : nullptr;
    bool same = real && found && std::string(real) + "/" == found;
    std::free(real);
    if (rc == 0 && !same && git_repository_set_workdir(r, work_tree, 0) != 0) {
      Error e = lib_error("cannot use GIT_WORK_TREE " + std::string(work_tree));
      git_repository_free(r);
      git_libgit2_shutdown();
      return e;
    }
  } else {
    rc = git_repository_open_ext(&r, nullptr, GIT_REPOSITORY_OPEN_FROM_ENV, nullptr);
    const char* index_file = std::getenv("GIT_INDEX_FILE");
    if (rc != 0 && index_file && is_split_index_error()) {
      // GIT_INDEX_FILE (git sets it for filters run while it writes an
      // index) names a split index: open without it, then give libgit2
      // an unsplit copy of that index.
      std::string path = index_file;
      ::unsetenv("GIT_INDEX_FILE");
      rc = git_repository_open_ext(&r, nullptr, GIT_REPOSITORY_OPEN_FROM_ENV, nullptr);
      ::setenv("GIT_INDEX_FILE", path.c_str(), 1);
      if (rc == 0) {
        split_index = path;
      }
    }
    // GIT_DIR without GIT_WORK_TREE (git runs filters and hooks so in
    // repositories made with --separate-git-dir, and in submodules): as git
    // does, the work tree is core.worktree, else the current directory,
    // unless core.bare says there is none. (libgit2 guesses the parent of
    // GIT_DIR, or calls the repository bare.)
    if (rc == 0 && std::getenv("GIT_DIR")) {
      git_config* cfg = nullptr;
      int bare = 0;
      std::string worktree;
      if (git_repository_config_snapshot(&cfg, r) == 0) {
        if (git_config_get_bool(&bare, cfg, "core.bare") != 0) {
          bare = 0;
        }
        const char* wt = nullptr;
        if (git_config_get_string(&wt, cfg, "core.worktree") == 0 && wt) {
          worktree = wt;
        }
        git_config_free(cfg);
      }
      std::error_code ec;
      if (!worktree.empty() && worktree[0] != '/') {
        worktree =
            (std::filesystem::path(git_repository_path(r)) / worktree).lexically_normal().string();
      } else if (worktree.empty()) {
        worktree = std::filesystem::current_path(ec).string();
      }
      if (!bare && !ec && git_repository_set_workdir(r, worktree.c_str(), 0) != 0) {
        Error e = lib_error("cannot use " + worktree + " as the work tree");
        git_repository_free(r);
        git_libgit2_shutdown();
        return e;
      }
    }
  }
  if (rc != 0) {
    Error e = rc == GIT_ENOTFOUND ? make_error(Errc::NotFound, "not inside a git repository")
                                  : lib_error("cannot open the git repository");
    git_libgit2_shutdown();
    return e;
  }
  Repo repo(r);
  if (!split_index.empty()) {
    repo.m_index_path = split_index;
    TRY_STATUS(repo.install_unsplit());
  }
  return repo;
}

Result<Repo> Repo::open_at(const std::string& path) {
  git_libgit2_init();
  git_repository* r = nullptr;
  if (git_repository_open_ext(&r, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) != 0) {
    git_libgit2_shutdown();
    return make_error(Errc::NotFound, path + " is not a git repository");
  }
  return Repo(r);
}

Repo::~Repo() {
  if (m_repo) {
    git_repository_free(m_repo);
    git_libgit2_shutdown();
  }
  if (!m_unsplit.empty()) {
    ::unlink(m_unsplit.c_str());
  }
}

Repo::Repo(Repo&& o) noexcept
    : m_repo(o.m_repo), m_unsplit(std::move(o.m_unsplit)), m_index_path(std::move(o.m_index_path)) {
  o.m_repo = nullptr;
  o.m_unsplit.clear();
}

Repo& Repo::operator=(Repo&& o) noexcept {
  if (this != &o) {
    if (m_repo) {
      git_repository_free(m_repo);
      git_libgit2_shutdown();
    }
    if (!m_unsplit.empty()) {
      ::unlink(m_unsplit.c_str());
    }
    m_repo = o.m_repo;
    m_unsplit = std::move(o.m_unsplit);
    m_index_path = std::move(o.m_index_path);
    o.m_repo = nullptr;
    o.m_unsplit.clear();
  }
  return *this;
}

std::string Repo::common_dir() const {
  return strip_slash(git_repository_commondir(m_repo));
}

std::optional<std::string> Repo::workdir() const {
  const char* w = git_repository_workdir(m_repo);
  if (!w) {
    return std::nullopt;
  }
  return strip_slash(w);
}

Result<std::optional<std::string>> Repo::attribute(const std::string& path,
                                                   const std::string& name) {
  const char* value = nullptr;
  int rc = git_attr_get(&value, m_repo, GIT_ATTR_CHECK_INDEX_THEN_FILE, path.c_str(), name.c_str());
  if (rc != 0 && m_unsplit.empty() && is_split_index_error()) {
    TRY(read_index());  // gives libgit2 the index unsplit
    rc = git_attr_get(&value, m_repo, GIT_ATTR_CHECK_INDEX_THEN_FILE, path.c_str(), name.c_str());
  }
  if (rc != 0) {
    return lib_error("cannot read attribute " + name + " of " + path);
  }
  switch (git_attr_value(value)) {
    case GIT_ATTR_VALUE_UNSPECIFIED:
      return std::optional<std::string>();
    case GIT_ATTR_VALUE_TRUE:
      return std::optional<std::string>("true");
    case GIT_ATTR_VALUE_FALSE:
      return std::optional<std::string>("false");
    case GIT_ATTR_VALUE_STRING:
      return std::optional<std::string>(value);
  }
  return std::optional<std::string>();
}

Status Repo::write_unsplit() {
  const std::string index_path =
      m_index_path.empty() ? strip_slash(git_repository_path(m_repo)) + "/index" : m_index_path;
  std::error_code ec;
  std::filesystem::copy_file(index_path, m_unsplit,
                             std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) {
    return make_error(Errc::IoError, "cannot read the index (split, core.splitIndex): copying " +
                                         index_path + ": " + ec.message());
  }
  auto r = run_git({"-c", "core.splitIndex=false", "update-index", "--no-split-index"}, "",
                   {"GIT_INDEX_FILE=" + m_unsplit});
  if (!r || r->status != 0) {
    return make_error(Errc::IoError,
                      "cannot read the index (split, core.splitIndex): git "
                      "update-index --no-split-index failed on a copy of " +
                          index_path);
  }
  return {};
}

Status Repo::install_unsplit() {
  // git writes the whole of the split index to a private file, kept (and
  // rewritten at each read) while this Repo lives, which libgit2 then uses
  // for everything, attributes from the index included.
  m_unsplit = strip_slash(git_repository_path(m_repo)) + "/zipllm-unsplit-index-" +
              std::to_string(::getpid());
  auto abandon = [&](Error e) -> Status {
    ::unlink(m_unsplit.c_str());
    m_unsplit.clear();
    return e;
  };
  if (auto st = write_unsplit(); !st) {
    return abandon(st.error());
  }
  git_index* idx = nullptr;
  if (git_index_open(&idx, m_unsplit.c_str()) != 0) {
    return abandon(lib_error("cannot read the unsplit copy of the index"));
  }
  git_repository_set_index(m_repo, idx);
  git_index_free(idx);  // the repository holds it
  return {};
}

Result<std::unique_ptr<git_index, void (*)(git_index*)>> Repo::read_index() {
  using Owned = std::unique_ptr<git_index, void (*)(git_index*)>;
  git_index* idx = nullptr;
  if (!m_unsplit.empty()) {
    // Split: libgit2 holds the unsplit copy; git writes it again.
    TRY_STATUS(write_unsplit());
    if (git_repository_index(&idx, m_repo) != 0) {
      return lib_error("cannot read the index");
    }
    Owned owned(idx, git_index_free);
    if (git_index_read(idx, 1) != 0) {
      return lib_error("cannot read the unsplit copy of the index");
    }
    return owned;
  }
  if (git_repository_index(&idx, m_repo) == 0) {
    Owned owned(idx, git_index_free);
    if (git_index_read(idx, 0) == 0) {  // again if `git` changed it since
      return owned;
    }
  }
  if (!is_split_index_error()) {
    return lib_error("cannot read the index");
  }
  TRY_STATUS(install_unsplit());
  if (git_repository_index(&idx, m_repo) != 0) {
    return lib_error("cannot read the index");
  }
  return Owned(idx, git_index_free);
}

Result<std::optional<std::string>> Repo::blob(const std::string& spec, uint64_t max_size) {
  git_object* obj = nullptr;
  int rc;
  if (spec.rfind(":", 0) == 0) {
    // ":path" (the index): libgit2 1.5's revparse does not implement it.
    auto owned_idx = TRY(read_index());
    git_index* idx = owned_idx.get();
    const git_index_entry* e = git_index_get_bypath(idx, spec.c_str() + 1, 0);
    if (!e) {
      return std::optional<std::string>();
    }
    rc = git_object_lookup(&obj, m_repo, &e->id, GIT_OBJECT_BLOB);
  } else {
    rc = git_revparse_single(&obj, m_repo, spec.c_str());
  }
  if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC || rc == GIT_EAMBIGUOUS) {
    return std::optional<std::string>();
  }
  if (rc != 0) {
    // An unborn HEAD and similar read as "nothing there".
    return std::optional<std::string>();
  }
  std::unique_ptr<git_object, decltype(&git_object_free)> owned(obj, git_object_free);
  if (git_object_type(obj) != GIT_OBJECT_BLOB) {
    return std::optional<std::string>();
  }
  auto* b = reinterpret_cast<git_blob*>(obj);
  git_object_size_t size = git_blob_rawsize(b);
  if (static_cast<uint64_t>(size) > max_size) {
    return std::optional<std::string>();
  }
  const char* data = static_cast<const char*>(git_blob_rawcontent(b));
  return std::optional<std::string>(std::string(data, data + size));
}

Result<std::vector<Repo::Entry>> Repo::entries_with_filter(const std::string& name) {
  auto owned = TRY(read_index());
  git_index* idx = owned.get();
  std::vector<Entry> out;
  size_t n = git_index_entrycount(idx);
  for (size_t i = 0; i < n; ++i) {
    const git_index_entry* e = git_index_get_byindex(idx, i);
    if (!e || git_index_entry_stage(e) != 0) {
      continue;
    }
    auto filter = TRY(attribute(e->path, "filter"));
    if (filter && *filter == name) {
      Entry en;
      en.path = e->path;
      en.mode = e->mode;
      en.mtime_ns = int64_t(e->mtime.seconds) * 1'000'000'000 + e->mtime.nanoseconds;
      en.ctime_ns = int64_t(e->ctime.seconds) * 1'000'000'000 + e->ctime.nanoseconds;
      en.ino = e->ino;
      en.size = e->file_size;
      char hex[GIT_OID_HEXSZ + 1];
      git_oid_tostr(hex, sizeof hex, &e->id);
      en.blob = hex;
      out.push_back(std::move(en));
    }
  }
  return out;
}

Result<std::vector<std::string>> Repo::record_written(const std::vector<WrittenFile>& files) {
  std::vector<std::string> left;
  auto all_left = [&] {
    left.clear();
    for (const auto& f : files) {
      left.push_back(f.path);
    }
    return left;
  };
  const char* wd = git_repository_workdir(m_repo);
  git_index* idx = nullptr;
  if (!wd || !m_unsplit.empty() || git_repository_index(&idx, m_repo) != 0) {
    return all_left();  // (a split index: libgit2 holds an unsplit copy)
  }
  std::unique_ptr<git_index, decltype(&git_index_free)> owned(idx, git_index_free);
  if (git_index_read(idx, 1) != 0) {
    return all_left();  // e.g. a split or sparse index libgit2 does not read
  }
  struct Update {
    git_index_entry entry;
    std::string path;
  };
  std::vector<Update> updates;
  int64_t newest = 0;
  for (const auto& f : files) {
    const git_index_entry* e = git_index_get_bypath(idx, f.path.c_str(), 0);
    git_oid want;
    struct stat st {};
    if (!e || git_oid_fromstr(&want, f.blob.c_str()) != 0 || git_oid_cmp(&want, &e->id) != 0 ||
        ::lstat((std::string(wd) + f.path).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      left.push_back(f.path);
      continue;
    }
    Update u{*e, f.path};
    // As git fills ce_stat_data (sizes and times truncated to 32 bits).
    u.entry.ctime.seconds = static_cast<int32_t>(st.st_ctim.tv_sec);
    u.entry.ctime.nanoseconds = static_cast<uint32_t>(st.st_ctim.tv_nsec);
    u.entry.mtime.seconds = static_cast<int32_t>(st.st_mtim.tv_sec);
    u.entry.mtime.nanoseconds = static_cast<uint32_t>(st.st_mtim.tv_nsec);
    u.entry.dev = static_cast<uint32_t>(st.st_dev);
    u.entry.ino = static_cast<uint32_t>(st.st_ino);
    u.entry.uid = st.st_uid;
    u.entry.gid = st.st_gid;
    u.entry.file_size = static_cast<uint32_t>(st.st_size);
    // Known to match: libgit2 does not re-check it as racily clean.
    u.entry.flags_extended |= GIT_INDEX_ENTRY_UPTODATE;
    newest = std::max<int64_t>(newest, st.st_mtim.tv_sec);
    updates.push_back(std::move(u));
  }
  if (updates.empty()) {
    return left;
  }
  // Git compares seconds only (unless built with USE_NSEC): an index
  // written in the same second as a file leaves its entry racy.
  while (::time(nullptr) <= newest) {
    ::usleep(20'000);
  }
  for (auto& u : updates) {
    u.entry.path = u.path.c_str();
    if (git_index_add(idx, &u.entry) != 0) {
      return all_left();  // nothing written yet: git refreshes them all
    }
  }
  if (git_index_write(idx) != 0) {
    return all_left();  // locked by a running git, say
  }
  return left;
}

Result<std::vector<Repo::Entry>> Repo::tracked_entries() {
  return entries_with_filter("zipllm");
}

Result<std::vector<std::string>> Repo::unfiltered_manifests() {
  auto owned = TRY(read_index());
  git_index* idx = owned.get();
  git_odb* odb = nullptr;
  if (git_repository_odb(&odb, m_repo) != 0) {
    return lib_error("cannot open the object database");
  }
  std::unique_ptr<git_odb, decltype(&git_odb_free)> owned_odb(odb, git_odb_free);
  std::vector<std::string> out;
  const std::string_view magic = format::k_manifest_magic;
  for (size_t i = 0, n = git_index_entrycount(idx); i < n; ++i) {
    const git_index_entry* e = git_index_get_byindex(idx, i);
    if (!e || git_index_entry_stage(e) != 0) {
      continue;
    }
    // The size first (a header read): raw weights are never loaded.
    size_t size = 0;
    git_object_t type{};
    if (git_odb_read_header(&size, &type, odb, &e->id) != 0 || type != GIT_OBJECT_BLOB ||
        size < magic.size() || size > format::k_max_manifest_size) {
      continue;
    }
    auto filter = TRY(attribute(e->path, "filter"));
    if ((filter && *filter == "zipllm") ||
        std::string_view(e->path).rfind(std::string(k_committed_bases_dir) + "/", 0) == 0) {
      continue;  // filtered, or a registered base's manifest (meant as text)
    }
    git_blob* blob = nullptr;
    if (git_blob_lookup(&blob, m_repo, &e->id) != 0) {
      continue;
    }
    bool is_manifest = std::memcmp(git_blob_rawcontent(blob), magic.data(), magic.size()) == 0;
    git_blob_free(blob);
    if (is_manifest) {
      out.emplace_back(e->path);
    }
  }
  return out;
}

size_t Repo::index_entry_count() {
  auto idx = read_index();
  return idx ? git_index_entrycount(idx->get()) : 0;
}

int64_t Repo::index_mtime_ns() {
  git_index* idx = nullptr;
  if (git_repository_index(&idx, m_repo) != 0) {
    return 0;
  }
  std::string path = git_index_path(idx) ? git_index_path(idx) : "";
  git_index_free(idx);
  struct stat st;
  if (path.empty() || ::stat(path.c_str(), &st) != 0) {
    return 0;
  }
  return int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

namespace {

std::vector<std::string> paths_of(std::vector<Repo::Entry> entries) {
  std::vector<std::string> out;
  for (auto& e : entries) {
    out.push_back(std::move(e.path));
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> Repo::lfs_paths() {
  return paths_of(TRY(entries_with_filter("lfs")));
}

Result<std::vector<std::string>> Repo::tracked_paths() {
  return paths_of(TRY(tracked_entries()));
}

std::optional<std::string> Repo::local_path_of(const std::string& given) {
  std::string url = given;
  if (url.rfind("file://", 0) == 0) {
    url = url.substr(7);
  }
  if (!url.empty() && url.find("://") == std::string::npos && (url[0] == '/' || url[0] == '.') &&
      path_exists(url)) {
    return url;
  }
  return std::nullopt;
}

std::vector<std::string> Repo::remote_names() {
  std::vector<std::string> out;
  git_strarray names{};
  if (git_remote_list(&names, m_repo) != 0) {
    return out;
  }
  for (size_t i = 0; i < names.count; ++i) {
    out.emplace_back(names.strings[i]);
  }
  git_strarray_dispose(&names);
  return out;
}

std::optional<std::string> Repo::remote_url(const std::string& name) {
  git_remote* remote = nullptr;
  if (git_remote_lookup(&remote, m_repo, name.c_str()) != 0) {
    return std::nullopt;
  }
  std::optional<std::string> url;
  if (git_remote_url(remote)) {
    url = git_remote_url(remote);
  }
  git_remote_free(remote);
  return url;
}

std::optional<std::string> Repo::default_remote() {
  git_reference* head = nullptr;
  if (git_repository_head(&head, m_repo) == 0) {
    std::string branch = git_reference_shorthand(head);
    git_reference_free(head);
    if (auto r = config_string("branch." + branch + ".remote"); r && *r != ".") {
      return r;
    }
  }
  auto names = remote_names();
  for (const auto& n : names) {
    if (n == "origin") {
      return n;
    }
  }
  if (names.size() == 1) {
    return names[0];
  }
  return std::nullopt;
}

std::vector<std::string> Repo::local_remote_paths() {
  std::vector<std::string> out;
  for (const auto& name : remote_names()) {
    if (auto url = remote_url(name)) {
      if (auto p = local_path_of(*url)) {
        out.push_back(*p);
      }
    }
  }
  return out;
}

Result<std::optional<std::string>> Repo::blob_by_id(const std::string& hex, uint64_t max_size) {
  git_oid oid;
  if (git_oid_fromstr(&oid, hex.c_str()) != 0) {
    return std::optional<std::string>();
  }
  git_odb* odb = nullptr;
  if (git_repository_odb(&odb, m_repo) != 0) {
    return lib_error("cannot open the object database");
  }
  std::unique_ptr<git_odb, decltype(&git_odb_free)> owned_odb(odb, git_odb_free);
  size_t size = 0;
  git_object_t type{};
  if (git_odb_read_header(&size, &type, odb, &oid) != 0 || type != GIT_OBJECT_BLOB ||
      size > max_size) {
    return std::optional<std::string>();
  }
  git_odb_object* obj = nullptr;
  if (git_odb_read(&obj, odb, &oid) != 0) {
    return lib_error("cannot read blob " + hex);
  }
  const char* data = static_cast<const char*>(git_odb_object_data(obj));
  std::string out(data, git_odb_object_size(obj));
  git_odb_object_free(obj);
  return std::optional<std::string>(std::move(out));
}

namespace {

// `git -c key=value` reaches child processes as GIT_CONFIG_PARAMETERS (and
// GIT_CONFIG_COUNT/KEY_n/VALUE_n), which libgit2 1.5 ignores: read them here.
// Format: single-quoted words, "'key'='value'" or older "'key=value'".
}  // namespace

std::vector<std::pair<std::string, std::string>> parse_config_parameters(const std::string& s) {
  std::vector<std::pair<std::string, std::string>> out;
  std::vector<std::string> words;
  std::vector<bool> joined;  // word i was attached to word i-1 by '='
  size_t i = 0;
  bool attach = false;
  while (i < s.size()) {
    if (s[i] == ' ') {
      ++i;
      attach = false;
      continue;
    }
    if (s[i] == '=') {
      ++i;
      attach = true;
      continue;
    }
    if (s[i] != '\'') {
      break;  // not the format we know
    }
    std::string w;
    ++i;
    while (i < s.size()) {
      if (s[i] == '\'') {
        // '\'' is an escaped quote inside a word
        if (s.compare(i, 4, "'\\''") == 0) {
          w += '\'';
          i += 4;
          continue;
        }
        ++i;
        break;
      }
      w += s[i++];
    }
    words.push_back(w);
    joined.push_back(attach);
    attach = false;
  }
  for (size_t k = 0; k < words.size(); ++k) {
    if (k + 1 < words.size() && joined[k + 1]) {
      out.emplace_back(words[k], words[k + 1]);
      ++k;
    } else {
      size_t eq = words[k].find('=');
      out.emplace_back(words[k].substr(0, eq),
                       eq == std::string::npos ? "true" : words[k].substr(eq + 1));
    }
  }
  return out;
}

namespace {

std::vector<std::pair<std::string, std::string>> command_line_config() {
  std::vector<std::pair<std::string, std::string>> out;
  if (const char* p = std::getenv("GIT_CONFIG_PARAMETERS")) {
    out = parse_config_parameters(p);
  }
  if (const char* c = std::getenv("GIT_CONFIG_COUNT")) {
    int n = std::atoi(c);
    for (int k = 0; k < n; ++k) {
      const char* key = std::getenv(("GIT_CONFIG_KEY_" + std::to_string(k)).c_str());
      const char* val = std::getenv(("GIT_CONFIG_VALUE_" + std::to_string(k)).c_str());
      if (key && val) {
        out.emplace_back(key, val);
      }
    }
  }
  return out;
}

bool same_key(const std::string& a, const std::string& b) {
  // Section and variable names ignore case; the subsection does not.
  size_t a1 = a.find('.'), a2 = a.rfind('.'), b1 = b.find('.'), b2 = b.rfind('.');
  if (a1 == std::string::npos || b1 == std::string::npos || a2 - a1 != b2 - b1) {
    return false;
  }
  auto ieq = [](std::string_view x, std::string_view y) {
    return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin(), [](char p, char q) {
             return ::tolower(p) == ::tolower(q);
           });
  };
  return ieq(std::string_view(a).substr(0, a1), std::string_view(b).substr(0, b1)) &&
         std::string_view(a).substr(a1, a2 - a1) == std::string_view(b).substr(b1, b2 - b1) &&
         ieq(std::string_view(a).substr(a2), std::string_view(b).substr(b2));
}

}  // namespace

std::vector<std::string> Repo::config_strings(const std::string& key) {
  std::vector<std::string> out;
  git_config* cfg = nullptr;
  if (git_repository_config_snapshot(&cfg, m_repo) == 0) {
    git_config_get_multivar_foreach(
        cfg, key.c_str(), nullptr,
        [](const git_config_entry* e, void* payload) {
          static_cast<std::vector<std::string>*>(payload)->emplace_back(e->value ? e->value : "");
          return 0;
        },
        &out);
    git_config_free(cfg);
  }
  for (const auto& [k, v] : command_line_config()) {
    if (same_key(k, key)) {
      out.push_back(v);
    }
  }
  return out;
}

std::optional<std::string> Repo::config_string(const std::string& key) {
  std::optional<std::string> out;
  for (const auto& [k, v] : command_line_config()) {
    if (same_key(k, key)) {
      out = v;  // the last one wins
    }
  }
  if (out) {
    return out;
  }
  git_config* cfg = nullptr;
  if (git_repository_config_snapshot(&cfg, m_repo) != 0) {
    return std::nullopt;
  }
  const char* v = nullptr;
  if (git_config_get_string(&v, cfg, key.c_str()) == 0 && v) {
    out = v;
  }
  git_config_free(cfg);
  return out;
}

}  // namespace zipllm::git
