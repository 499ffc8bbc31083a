// The repository a command runs in, through libgit2: paths, attributes,
// blobs of the index and of commits, remotes. Honors GIT_DIR,
// GIT_WORK_TREE and friends as git sets them for filters and hooks.
// Not thread-safe; one per thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/result.h"

struct git_repository;
struct git_index;

namespace zipllm::git {

// `git -c key=value` reaches child processes as GIT_CONFIG_PARAMETERS,
// which libgit2 1.5 ignores: its single-quoted words, "'key'='value'" or
// the older "'key=value'" ('\'' inside a word is a quote; a key alone is
// "true"). Stops at the first word it does not understand.
std::vector<std::pair<std::string, std::string>> parse_config_parameters(const std::string& text);

class Repo {
 public:
  // Discovers the repository from the environment or the current directory.
  static Result<Repo> open();
  // Opens the repository at `path` (bare or not); NotFound if none.
  static Result<Repo> open_at(const std::string& path);
  ~Repo();
  Repo(Repo&&) noexcept;
  Repo& operator=(Repo&&) noexcept;
  Repo(const Repo&) = delete;
  Repo& operator=(const Repo&) = delete;

  std::string common_dir() const;  // shared by all worktrees, ends without '/'
  std::optional<std::string> workdir() const;
  // Where this repository's zipllm objects live: <common_dir>/zipllm.
  std::string store_path() const { return common_dir() + "/zipllm"; }

  // Value of gitattribute `name` for `path`; nullopt when unset/unspecified,
  // "true"/"false" for set/unset.
  Result<std::optional<std::string>> attribute(const std::string& path, const std::string& name);
  // Blob content at a revision spec such as "HEAD:path" or ":path" (index);
  // nullopt when the spec names nothing.
  Result<std::optional<std::string>> blob(const std::string& spec, uint64_t max_size);
  // Paths in the index whose `filter` attribute is `zipllm`.
  Result<std::vector<std::string>> tracked_paths();
  // The same with their index file mode (0100644, 0100755, ...).
  struct Entry {
    std::string path;
    uint32_t mode = 0;
    // The stat data git recorded (size truncated to 32 bits, as git does).
    int64_t mtime_ns = 0, ctime_ns = 0;
    uint64_t ino = 0;
    uint32_t size = 0;
    std::string blob;  // the blob's id, hex
  };
  Result<std::vector<Entry>> tracked_entries();
  // Paths in the index whose `filter` attribute is `lfs` (the LFS door's).
  Result<std::vector<std::string>> lfs_paths();
  // Index entries (stage 0) whose `filter` attribute is `name`.
  Result<std::vector<Entry>> entries_with_filter(const std::string& name);
  // Paths in the index whose blob is a git-zipllm manifest although no
  // attribute gives them filter=zipllm (.gitattributes not committed, or a
  // pattern removed): git shows the manifest text there, and a restored
  // file would be committed raw.
  Result<std::vector<std::string>> unfiltered_manifests();
  // Entries in the index (0 after a clone whose checkout failed: git
  // leaves the index empty although HEAD has files).
  size_t index_entry_count();
  // Modification time of the index file (git's racy-stat rule: an entry
  // whose file changed in the same tick as the index was written cannot be
  // trusted by stat alone); 0 if unknown.
  int64_t index_mtime_ns();
  // A blob by its object id (hex); nullopt if absent, not a blob or larger
  // than max_size (checked before reading it).
  Result<std::optional<std::string>> blob_by_id(const std::string& hex, uint64_t max_size);
  // URLs of remotes that are local paths (plain paths or file://).
  std::vector<std::string> local_remote_paths();
  std::vector<std::string> remote_names();
  std::optional<std::string> remote_url(const std::string& name);
  // The remote of the current branch's upstream, else "origin", else the
  // only remote; nullopt when there is no choice.
  std::optional<std::string> default_remote();
  // The local folder a remote URL names (a path or file://), if it is one.
  static std::optional<std::string> local_path_of(const std::string& url);
  // A config string, if set (the last value wins, `git -c` first).
  std::optional<std::string> config_string(const std::string& key);
  // Every value of a multi-valued key, in git's order (`git -c` last).
  std::vector<std::string> config_strings(const std::string& key);

  // A work tree file just written from its index entry's blob: the entry
  // gets the file's stat data, so git sees it clean without re-cleaning
  // (reading) it. `blob` is the id the file was written from.
  struct WrittenFile {
    std::string path;
    std::string blob;
  };
  // Records every file whose entry still has that blob (and whose stat
  // was taken after it was written), in one write of the index through
  // libgit2; returns the paths it could not record (the entry changed,
  // the file is gone, the index is locked or of a kind libgit2 does not
  // write), which the caller refreshes through git. Git's racy-stat rule:
  // an entry whose file is not older than the index is re-checked by
  // content, so the index is written in a later second than every file's
  // mtime (waiting for it if need be).
  Result<std::vector<std::string>> record_written(const std::vector<WrittenFile>& files);

  // libgit2's handle, for code of this layer that writes objects and refs
  // itself (migrate.cpp).
  git_repository* handle() const { return m_repo; }

 private:
  explicit Repo(git_repository* r) : m_repo(r) {}
  // The index, to read (never to write). libgit2 1.5 does not read a split
  // index (core.splitIndex: the 'link' extension); then git writes an
  // unsplit copy of it (m_unsplit, again at each read, removed with this
  // Repo) that libgit2 uses instead, for attributes too.
  Result<std::unique_ptr<git_index, void (*)(git_index*)>> read_index();
  Status install_unsplit();
  Status write_unsplit();
  git_repository* m_repo = nullptr;
  std::string m_unsplit;
  std::string m_index_path;  // GIT_INDEX_FILE when split; "" = <gitdir>/index
};

}  // namespace zipllm::git
