// Running the real `git` binary (for what libgit2 1.5 cannot do the way
// git itself does: writing config at a scope, refreshing the index).
#pragma once

#include <string>
#include <vector>

#include "util/result.h"

namespace zipllm::git {

struct CommandResult {
  int status = 0;      // exit status (or 128 + signal)
  std::string output;  // stdout
};

// Runs `git args...`, feeding `input` on stdin, capturing stdout; stderr
// passes through. `extra_env` ("NAME=value") is added to the environment.
Result<CommandResult> run_git(const std::vector<std::string>& args, const std::string& input = "",
                              const std::vector<std::string>& extra_env = {});

// Runs `git args...` with its stdout going to `out_fd` (a blob of any
// size streamed to a file); returns git's exit status.
Result<int> run_git_to_fd(const std::vector<std::string>& args, int out_fd);

// The non-empty lines of a command's output.
std::vector<std::string> lines_of(const std::string& text);

}  // namespace zipllm::git
