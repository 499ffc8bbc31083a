// Settings that travel with a repository: git config first, then the
// committed `.zipllmconfig` (git-config syntax), read from the work tree,
// else the index, else HEAD — so a fresh clone knows its store before its
// work tree is checked out.
//
//   [zipllm]
//       url = s3://models/team            where objects are pushed and fetched
//       base = base/model.safetensors    base model (base_resolution.h)
//       s3endpoint = http://127.0.0.1:9000
//       s3region = us-east-1
//       s3pathstyle = true
//   [remote "origin"]
//       zipllmurl = /srv/zipllm           per git remote
#pragma once

#include "git/repo.h"
#include "remote/remote_store.h"

#include <map>

namespace zipllm::git {

// Parses git-config syntax into "section.key" / "section.subsection.key"
// (section and key lowercased, subsection as written). Enough of the
// syntax for this file: sections, subsections, quotes, comments.
std::map<std::string, std::string> parse_git_config(const std::string& text);

class Settings {
public:
  static Settings load(Repo& repo);
  // git config, then .zipllmconfig.
  std::optional<std::string> get(const std::string& key);
  // .zipllmconfig only.
  std::optional<std::string> committed(const std::string& key) const;
  remote::S3Settings s3();

private:
  explicit Settings(Repo& repo) : m_repo(&repo) {}
  Repo* m_repo;
  std::map<std::string, std::string> m_file;
};

// Where a git remote's objects go: the zipllm store URL and how it was found.
struct RemoteTarget {
  std::string remote;  // git remote name (or URL as given); may be empty
  std::string url;     // store URL
  std::string how;     // e.g. "remote.origin.zipllmurl (git config)"
};

// `remote`: a git remote name or URL, or empty for the default remote. In
// this order: remote.<name>.zipllmurl and zipllm.url from git config, the
// same from .zipllmconfig, then — when the git remote is a local path — the
// store inside that repository. NotFound with a message saying how to
// configure one when nothing applies.
Result<RemoteTarget> resolve_remote_store(Repo& repo, Settings& settings, const std::string& remote);

// Opens it (no network traffic yet).
Result<std::unique_ptr<remote::RemoteStore>> open_remote_store(Repo& repo, Settings& settings,
                                                               const std::string& remote,
                                                               RemoteTarget* target = nullptr);

}  // namespace zipllm::git
