// Settings that travel with a repository: git config first, then the
// committed `.zipllmconfig` (git-config syntax), read from the work tree,
// else the index, else HEAD — so a fresh clone knows its store before its
// work tree is checked out.
//
// A committed file is written by whoever made the repository: the values
// that decide where data and credentials go (store URLs, the S3 endpoint)
// are used only when the user trusts them: the same value in their own git
// config, `zipllm.trustcommitted=true`, or approved by `git zipllm trust`
// (which records "key=value" in `zipllm.trusted`, local config). Committed
// base paths must stay inside the work tree (base_resolution.h).
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

#include <map>

#include "git/repo.h"
#include "remote/remote_store.h"

namespace zipllm::git {

// Parses git-config syntax into "section.key" / "section.subsection.key"
// (section and key lowercased, subsection as written). Enough of the
// syntax for this file: sections, subsections, quotes, comments.
std::map<std::string, std::string> parse_git_config(const std::string& text);

// Committed keys that choose where data and credentials go.
bool needs_trust(const std::string& key);

class Settings {
 public:
  static Settings load(Repo& repo);
  // git config, then .zipllmconfig (keys that need trust only if trusted).
  std::optional<std::string> get(const std::string& key);
  // .zipllmconfig only, trusted or not (for keys that need no trust, and
  // for `git zipllm trust` to show).
  std::optional<std::string> committed(const std::string& key) const;
  // .zipllmconfig, if the user trusts that value (see above); otherwise
  // nothing, and the key is remembered in untrusted().
  std::optional<std::string> committed_trusted(const std::string& key);
  // "key = value" of committed values that were ignored as untrusted.
  const std::vector<std::string>& untrusted() const { return m_untrusted; }
  // Every committed key and value.
  const std::map<std::string, std::string>& committed_all() const { return m_file; }
  remote::S3Settings s3();

 private:
  explicit Settings(Repo& repo) : m_repo(&repo) {}
  Repo* m_repo;
  std::map<std::string, std::string> m_file;
  std::vector<std::string> m_untrusted;
};

// The hint for untrusted committed values.
std::string trust_hint(const Settings& s);

// Where a git remote's objects go: the zipllm store URL and how it was found.
struct RemoteTarget {
  std::string remote;  // git remote name (or URL as given); may be empty
  std::string url;     // store URL
  std::string how;     // e.g. "remote.origin.zipllmurl (git config)"
  std::string note;    // for the user: committed settings skipped as untrusted
};

// For an error about objects a store lacks: which store was looked in (and
// why that one), and how to point this clone, and every other, at the store
// the models were pushed to.
std::string missing_objects_hint(const RemoteTarget& t);

// `remote`: a git remote name or URL, or empty for the default remote. In
// this order: remote.<name>.zipllmurl and zipllm.url from git config, the
// same from .zipllmconfig, then — when the git remote is a local path — the
// store inside that repository. NotFound with a message saying how to
// configure one when nothing applies.
Result<RemoteTarget> resolve_remote_store(Repo& repo, Settings& settings,
                                          const std::string& remote);

// Prints "git-zipllm: note: ..." on stderr, at most once per process (the
// untrusted-settings note of a RemoteTarget).
void tell_once(const std::string& note);

// Opens it (no network traffic yet); tells the user about skipped
// untrusted settings.
Result<std::unique_ptr<remote::RemoteStore>> open_remote_store(Repo& repo, Settings& settings,
                                                               const std::string& remote,
                                                               RemoteTarget* target = nullptr);

}  // namespace zipllm::git
