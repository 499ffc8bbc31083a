// Which model files fetch, pull and checkout touch, as git-lfs's
// --include / --exclude and lfs.fetchinclude / lfs.fetchexclude: a file is
// taken if it matches an include pattern (or there are none) and no
// exclude pattern. Patterns are comma-separated; a pattern matches a path
// as a glob over the whole path (`*` also crosses `/`), over its base name
// when it has no `/`, or as a folder holding it (`ft` takes `ft/a/b`).
#pragma once

#include <string>
#include <vector>

#include "git/repo.h"

namespace zipllm::git {

bool path_matches(const std::string& pattern, const std::string& path);
// Comma-separated pattern lists (repeatable flags) as one list: blanks
// around a pattern, a trailing '/' and leading "./" dropped, empty ones
// skipped.
std::vector<std::string> split_patterns(const std::vector<std::string>& values);

struct PathFilter {
  std::vector<std::string> include, exclude;

  bool empty() const { return include.empty() && exclude.empty(); }
  bool allows(const std::string& path) const;
  // "--include a,b --exclude c" for messages ("" when empty).
  std::string describe() const;

  // From the flags (each value comma-separated, repeatable); a list not
  // given on the command line comes from zipllm.fetchinclude /
  // zipllm.fetchexclude (git config, then .zipllmconfig).
  static PathFilter from(Repo& repo, const std::vector<std::string>& include,
                         const std::vector<std::string>& exclude);
};

}  // namespace zipllm::git
