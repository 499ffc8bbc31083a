#include "git/repo.h"

#include <git2.h>

#include <cstdlib>
#include <filesystem>

namespace zipllm::git {

namespace {

Error lib_error(const std::string& what) {
  const ::git_error* e = git_error_last();
  return make_error(Errc::IoError, what + ": " + (e && e->message ? e->message : "libgit2 error"));
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
  const char* work_tree = std::getenv("GIT_WORK_TREE");
  if (work_tree) {
    // libgit2 1.5's OPEN_FROM_ENV refuses GIT_WORK_TREE (git sets it for
    // filters in `git worktree add`, among others): open GIT_DIR (or
    // discover) and set the work tree ourselves.
    const char* git_dir = std::getenv("GIT_DIR");
    rc = git_repository_open_ext(&r, git_dir ? git_dir : ".",
                                 git_dir ? GIT_REPOSITORY_OPEN_NO_SEARCH : 0, nullptr);
    if (rc == 0 && git_repository_set_workdir(r, work_tree, 0) != 0) {
      Error e = lib_error("cannot use GIT_WORK_TREE " + std::string(work_tree));
      git_repository_free(r);
      git_libgit2_shutdown();
      return e;
    }
  } else {
    rc = git_repository_open_ext(&r, nullptr, GIT_REPOSITORY_OPEN_FROM_ENV, nullptr);
  }
  if (rc != 0) {
    Error e = rc == GIT_ENOTFOUND ? make_error(Errc::NotFound, "not inside a git repository")
                                  : lib_error("cannot open the git repository");
    git_libgit2_shutdown();
    return e;
  }
  return Repo(r);
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
}

Repo::Repo(Repo&& o) noexcept : m_repo(o.m_repo) { o.m_repo = nullptr; }

Repo& Repo::operator=(Repo&& o) noexcept {
  if (this != &o) {
    if (m_repo) {
      git_repository_free(m_repo);
      git_libgit2_shutdown();
    }
    m_repo = o.m_repo;
    o.m_repo = nullptr;
  }
  return *this;
}

std::string Repo::common_dir() const { return strip_slash(git_repository_commondir(m_repo)); }

std::optional<std::string> Repo::workdir() const {
  const char* w = git_repository_workdir(m_repo);
  if (!w) {
    return std::nullopt;
  }
  return strip_slash(w);
}

Result<std::optional<std::string>> Repo::attribute(const std::string& path, const std::string& name) {
  const char* value = nullptr;
  if (git_attr_get(&value, m_repo, GIT_ATTR_CHECK_INDEX_THEN_FILE, path.c_str(), name.c_str()) != 0) {
    return lib_error("cannot read attribute " + name + " of " + path);
  }
  switch (git_attr_value(value)) {
    case GIT_ATTR_VALUE_UNSPECIFIED: return std::optional<std::string>();
    case GIT_ATTR_VALUE_TRUE: return std::optional<std::string>("true");
    case GIT_ATTR_VALUE_FALSE: return std::optional<std::string>("false");
    case GIT_ATTR_VALUE_STRING: return std::optional<std::string>(value);
  }
  return std::optional<std::string>();
}

Result<std::optional<std::string>> Repo::blob(const std::string& spec, uint64_t max_size) {
  git_object* obj = nullptr;
  int rc;
  if (spec.rfind(":", 0) == 0) {
    // ":path" (the index): libgit2 1.5's revparse does not implement it.
    git_index* idx = nullptr;
    if (git_repository_index(&idx, m_repo) != 0) {
      return lib_error("cannot read the index");
    }
    std::unique_ptr<git_index, decltype(&git_index_free)> owned_idx(idx, git_index_free);
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

Result<std::vector<std::string>> Repo::tracked_paths() {
  git_index* idx = nullptr;
  if (git_repository_index(&idx, m_repo) != 0) {
    return lib_error("cannot read the index");
  }
  std::unique_ptr<git_index, decltype(&git_index_free)> owned(idx, git_index_free);
  std::vector<std::string> out;
  size_t n = git_index_entrycount(idx);
  for (size_t i = 0; i < n; ++i) {
    const git_index_entry* e = git_index_get_byindex(idx, i);
    if (!e || git_index_entry_stage(e) != 0) {
      continue;
    }
    auto filter = TRY(attribute(e->path, "filter"));
    if (filter && *filter == "zipllm") {
      out.emplace_back(e->path);
    }
  }
  return out;
}

std::vector<std::string> Repo::local_remote_paths() {
  std::vector<std::string> out;
  git_strarray names{};
  if (git_remote_list(&names, m_repo) != 0) {
    return out;
  }
  for (size_t i = 0; i < names.count; ++i) {
    git_remote* remote = nullptr;
    if (git_remote_lookup(&remote, m_repo, names.strings[i]) != 0) {
      continue;
    }
    std::string url = git_remote_url(remote) ? git_remote_url(remote) : "";
    git_remote_free(remote);
    if (url.rfind("file://", 0) == 0) {
      url = url.substr(7);
    }
    if (!url.empty() && url.find("://") == std::string::npos &&
        (url[0] == '/' || url[0] == '.') && std::filesystem::exists(url)) {
      out.push_back(url);
    }
  }
  git_strarray_dispose(&names);
  return out;
}

std::optional<std::string> Repo::config_string(const std::string& key) {
  git_config* cfg = nullptr;
  if (git_repository_config_snapshot(&cfg, m_repo) != 0) {
    return std::nullopt;
  }
  const char* v = nullptr;
  std::optional<std::string> out;
  if (git_config_get_string(&v, cfg, key.c_str()) == 0 && v) {
    out = v;
  }
  git_config_free(cfg);
  return out;
}

}  // namespace zipllm::git
