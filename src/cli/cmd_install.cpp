// git zipllm install [--local|--global|--system] [--force] / uninstall
#include <cstdio>

#include "cli/commands.h"
#include "git/git_command.h"
#include "git/hooks.h"
#include "git/install.h"

namespace zipllm::cli {

namespace {

struct Args {
  bool local = false, global = false, system = false, force = false, skip_repo = false;
  std::string scope() const { return local ? "--local" : system ? "--system" : "--global"; }
};

Status install(const Args& a) {
  std::string scope = a.scope();
  TRY_STATUS(git::install_config(scope, a.force));
  std::printf("git-zipllm filter installed (%s config)\n", scope.substr(2).c_str());
  // Inside a repository (or with --local): its hooks too.
  if (!a.skip_repo) {
    auto repo = git::Repo::open();
    if (repo && repo->workdir()) {
      for (const auto& line : TRY(git::install_hooks(*repo))) {
        std::printf("hook %s\n", line.c_str());
      }
    } else if (a.local) {
      return make_error(Errc::InvalidArgument, "--local needs a repository with a work tree");
    }
  }
  return {};
}

Status uninstall(const Args& a) {
  std::string scope = a.scope();
  TRY_STATUS(git::uninstall_config(scope, a.force));
  std::printf("git-zipllm filter removed (%s config)\n", scope.substr(2).c_str());
  if (!a.skip_repo) {
    auto repo = git::Repo::open();
    if (repo && repo->workdir()) {
      for (const auto& line : TRY(git::uninstall_hooks(*repo))) {
        std::printf("hook %s\n", line.c_str());
      }
    }
  }
  return {};
}

void add_scope(CLI::App* cmd, Args& a) {
  cmd->add_flag("--local", a.local, "this repository's config");
  cmd->add_flag("--global", a.global, "the user's config (default)");
  cmd->add_flag("--system", a.system, "the system config");
  cmd->add_flag("--force", a.force, "replace or remove values set by something else");
  cmd->add_flag("--skip-repo", a.skip_repo, "leave the current repository's hooks alone");
}

}  // namespace

std::vector<Runner> add_install(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("install", "Configure git to use the zipllm filter");
  add_scope(cmd, *a);
  auto b = std::make_shared<Args>();
  auto* un = app.add_subcommand("uninstall", "Remove what install configured");
  add_scope(un, *b);
  return {[a] {
            Status s = install(*a);
            return s ? 0 : fail(s.error().context("install"));
          },
          [b] {
            Status s = uninstall(*b);
            return s ? 0 : fail(s.error().context("uninstall"));
          }};
}

}  // namespace zipllm::cli
