// Subcommands. Each registers itself on the CLI11 app and returns a runner
// that produces an exit status (0 ok, 1 user or data error, 2 internal).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "git/repo.h"
#include "util/progress.h"
#include "util/result.h"

namespace zipllm::cli {

using Runner = std::function<int()>;

// Prints "git-zipllm: <message>" to stderr and returns the exit status for
// the error's category.
int fail(const Error& e);

Runner add_compress(CLI::App& app);
Runner add_decompress(CLI::App& app);
Runner add_demo(CLI::App& app);
std::vector<Runner> add_filter(CLI::App& app);    // filter-process, clean, smudge
std::vector<Runner> add_install(CLI::App& app);   // install, uninstall
std::vector<Runner> add_track(CLI::App& app);     // track, untrack
std::vector<Runner> add_checkout(CLI::App& app);  // checkout
std::vector<Runner> add_status(CLI::App& app);    // status, show, textconv
std::vector<Runner> add_merge(CLI::App& app);     // merge-driver
std::vector<Runner> add_verify(CLI::App& app);    // verify
std::vector<Runner> add_base(CLI::App& app);      // base add|list|remove|suggest
std::vector<Runner> add_gc(CLI::App& app);        // gc, prune, repack
std::vector<Runner> add_sync(CLI::App& app);      // push, fetch, pull, pre-push
std::vector<Runner> add_transfer(CLI::App& app);  // transfer (LFS agent), lfs-enable
std::vector<Runner> add_trust(CLI::App& app);     // trust
std::vector<Runner> add_env(CLI::App& app);       // env
std::vector<Runner> add_serve(CLI::App& app);     // serve (the hub)
std::vector<Runner> add_migrate(CLI::App& app);   // migrate import|info

// The plain door's outputs replace whatever is at their path: an error if
// `output` is the input or one of the bases (compress X -o X would destroy
// the model).
Status check_output_is_new(const std::string& output, const std::string& input,
                           const std::vector<std::string>& bases);

// A path given on the command line (relative to the current directory) as
// a path in `repo`'s work tree; InvalidArgument naming it if it is outside.
Result<std::string> work_tree_path(git::Repo& repo, const std::string& given);

// What `git zipllm NAME` says when NAME is no command: git's wording, with
// the closest of `commands` as suggestions.
std::string unknown_command_message(const std::string& given,
                                    const std::vector<std::string>& commands);

// `git zipllm checkout PATHS` as a function (pull uses it).
int run_checkout(const std::vector<std::string>& paths, bool force,
                 const std::vector<std::string>& include = {},
                 const std::vector<std::string>& exclude = {});
// -I/--include and -X/--exclude, as git-lfs has them (git/path_filter.h).
void add_path_filter(CLI::App* cmd, std::vector<std::string>& include,
                     std::vector<std::string>& exclude);

}  // namespace zipllm::cli
