// The git configuration git-zipllm needs (filter, diff, merge driver, LFS
// agent) at a config scope, and the check every command that writes model
// files or sets up tracking makes: without the filter, git would stage
// the raw weights of a restored file.
#pragma once

#include <string>
#include <vector>

#include "git/repo.h"

namespace zipllm::git {

struct ConfigKey {
  const char* name;
  const char* value;
};
// The .gitattributes line that gives files matching `pattern` to git-zipllm.
std::string attribute_line(const std::string& pattern);
// Whether `line` gives `pattern` (any pattern when empty) filter=zipllm.
bool is_zipllm_line(const std::string& line, const std::string& pattern);

// Every key install sets, with its value.
const std::vector<ConfigKey>& install_keys();

// Sets every key at `scope` ("--local", "--global", "--system"); refuses
// (naming the key) to replace a foreign value unless `force`.
Status install_config(const std::string& scope, bool force);
// Removes the keys that still hold our values (all with `force`), and
// sections left empty.
Status uninstall_config(const std::string& scope, bool force);

// Whether git will run our filter in this repository (any scope, `git -c`
// included): filter.zipllm.process set to a git-zipllm command, required.
bool filter_configured(Repo& repo);

// Installs the configuration in the repository's local config if no scope
// has it yet. Returns a line to tell the user when it did, else "".
Result<std::string> ensure_filter(Repo& repo);

}  // namespace zipllm::git
