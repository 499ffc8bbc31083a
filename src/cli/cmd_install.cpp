// git zipllm install [--local|--global|--system] [--force] / uninstall
#include "cli/commands.h"
#include "git/git_command.h"
#include "git/hooks.h"

#include <cstdio>

namespace zipllm::cli {

namespace {

struct Key {
  const char* name;
  const char* value;
};

constexpr Key k_keys[] = {
    {"filter.zipllm.process", "git-zipllm filter-process"},
    {"filter.zipllm.clean", "git-zipllm clean %f"},
    {"filter.zipllm.smudge", "git-zipllm smudge %f"},
    {"filter.zipllm.required", "true"},
    {"diff.zipllm.textconv", "git-zipllm textconv"},
    {"merge.zipllm.name", "git-zipllm model merge (whole files)"},
    {"merge.zipllm.driver", "git-zipllm merge-driver %O %A %B %P"},
    // The LFS door: git-lfs runs it for remotes that `lfs-enable` selects.
    {"lfs.customtransfer.zipllm.path", "git-zipllm"},
    {"lfs.customtransfer.zipllm.args", "transfer"},
    {"lfs.customtransfer.zipllm.concurrent", "false"},
};

struct Args {
  bool local = false, global = false, system = false, force = false, skip_repo = false;
  std::string scope() const { return local ? "--local" : system ? "--system" : "--global"; }
};

Result<std::string> current(const std::string& scope, const std::string& key) {
  auto r = TRY(git::run_git({"config", scope, "--get", key}));
  std::string v = r.output;
  while (!v.empty() && v.back() == '\n') {
    v.pop_back();
  }
  return r.status == 0 ? v : std::string();
}

Status install(const Args& a) {
  std::string scope = a.scope();
  for (const Key& k : k_keys) {
    std::string have = TRY(current(scope, k.name));
    if (!have.empty() && have != k.value && !a.force) {
      return make_error(Errc::InvalidArgument, std::string(k.name) + " is already set to '" + have +
                                                   "' (" + scope.substr(2) +
                                                   " config); use --force to replace it");
    }
  }
  for (const Key& k : k_keys) {
    auto r = TRY(git::run_git({"config", scope, "--replace-all", k.name, k.value}));
    if (r.status != 0) {
      return make_error(Errc::IoError, std::string("git config ") + scope + " " + k.name + " failed");
    }
  }
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
  for (const Key& k : k_keys) {
    std::string have = TRY(current(scope, k.name));
    if (have.empty() || (have != k.value && !a.force)) {
      continue;  // not ours: leave it
    }
    TRY(git::run_git({"config", scope, "--unset-all", k.name}));
  }
  // Drop the sections if they are now empty.
  for (const char* section : {"filter.zipllm", "diff.zipllm", "merge.zipllm", "lfs.customtransfer.zipllm"}) {
    auto r = TRY(git::run_git({"config", scope, "--get-regexp", std::string("^") + section + "\\."}));
    if (r.output.empty()) {
      (void)git::run_git({"config", scope, "--remove-section", section});
    }
  }
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
