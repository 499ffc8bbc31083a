// Installing and removing the hooks of hooks/ in a repository, chaining to
// hooks that were there before (hooks/README.md).
#pragma once

#include <string>
#include <vector>

#include "git/repo.h"

namespace zipllm::git {

// The repository's hooks folder: core.hooksPath (relative to the work tree)
// or <common_dir>/hooks.
std::string hooks_dir(Repo& repo);

// Installs every hook. A foreign hook is kept as <name>.zipllm-chained.
// Returns one line per action for the user ("pre-push: installed", ...).
Result<std::vector<std::string>> install_hooks(Repo& repo);
// Writes hooks only where no file of that name exists (the filter calls
// this in fresh clones); never touches an existing file. Errors ignored.
void install_missing_hooks(Repo& repo);
// Removes our hooks and puts chained ones back.
Result<std::vector<std::string>> uninstall_hooks(Repo& repo);

// Whether the `git push` that runs this pre-push hook was given -q/--quiet.
// git tells hooks nothing of its options (git-lfs has the same problem,
// git-lfs#3418), so this reads the command lines of the process's nearest
// ancestors (Linux /proc); false where they cannot be read.
bool push_is_quiet();
// The same decision for one command line: `git [opts] push ... -q`.
bool push_args_quiet(const std::vector<std::string>& argv);

}  // namespace zipllm::git
