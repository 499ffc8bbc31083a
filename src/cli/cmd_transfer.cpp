// git zipllm transfer (the Git LFS custom transfer agent) and
// git zipllm lfs-enable [REMOTE] [--all] [--global]
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "git/git_command.h"
#include "git/lfs_agent.h"
#include "git/repo.h"
#include "util/redact.h"

namespace zipllm::cli {

namespace {

struct EnableArgs {
  std::string remote;
  bool all = false;
  bool global = false;
};

Status set(const std::string& scope, const std::string& key, const std::string& value) {
  auto r = TRY(git::run_git({"config", scope, "--replace-all", key, value}));
  if (r.status != 0) {
    return make_error(Errc::IoError, "git config " + scope + " " + key + " failed");
  }
  return {};
}

Status lfs_enable(const EnableArgs& a) {
  std::string scope = a.global ? "--global" : "--local";
  TRY_STATUS(set(scope, "lfs.customtransfer.zipllm.path", "git-zipllm"));
  TRY_STATUS(set(scope, "lfs.customtransfer.zipllm.args", "transfer"));
  TRY_STATUS(set(scope, "lfs.customtransfer.zipllm.concurrent", "false"));
  if (a.all || a.global) {
    TRY_STATUS(set(scope, "lfs.standalonetransferagent", "zipllm"));
    std::printf(
        "git-zipllm: LFS objects of every remote now travel through git-zipllm (%s config)\n",
        scope.substr(2).c_str());
    return {};
  }
  auto repo = TRY(git::Repo::open());
  std::string name = a.remote.empty() ? repo.default_remote().value_or("") : a.remote;
  if (name.empty()) {
    return make_error(Errc::InvalidArgument, "no remote to enable; name one, or use --all");
  }
  std::string url = repo.remote_url(name).value_or(name);
  if (auto path = git::Repo::local_path_of(url); path && url.rfind("file://", 0) != 0) {
    // git-lfs names local remotes by file URL.
    std::error_code ec;
    url = "file://" + std::filesystem::absolute(*path, ec).lexically_normal().string();
  }
  // git-lfs matches URL keys without their user part: a token in the
  // remote's URL must not end up in a config key name.
  url = strip_userinfo(url);
  TRY_STATUS(set(scope, "lfs." + url + ".standalonetransferagent", "zipllm"));
  std::printf("git-zipllm: LFS objects for %s (%s) now travel through git-zipllm\n", name.c_str(),
              url.c_str());
  return {};
}

// The README's clone recipe, `git -c lfs.standalonetransferagent=zipllm
// clone URL`, selects the agent for the clone command only: the next `git
// pull` would ask the LFS server for objects it never received. git-lfs
// runs the agent inside the repository, so the first run under such a `-c`
// keeps the setting in that repository's own config.
void remember_command_line_agent() {
  auto got = git::run_git({"config", "--show-origin", "--get", "lfs.standalonetransferagent"});
  if (!got || got->status != 0 || got->output != "command line:\tzipllm\n") {
    return;
  }
  auto local = git::run_git({"config", "--local", "--get", "lfs.standalonetransferagent"});
  if (!local || local->status == 0) {
    return;  // no repository, or it says something of its own
  }
  if (set("--local", "lfs.standalonetransferagent", "zipllm")) {
    std::fprintf(stderr,
                 "git-zipllm: this repository's LFS transfers go through git-zipllm from now on "
                 "(lfs.standalonetransferagent in its config)\n");
  }
}

}  // namespace

std::vector<Runner> add_transfer(CLI::App& app) {
  auto* t = app.add_subcommand("transfer", "Git LFS custom transfer agent (git-lfs runs it)");
  t->group("");
  auto a = std::make_shared<EnableArgs>();
  auto* e =
      app.add_subcommand("lfs-enable", "Send this repository's LFS objects through git-zipllm");
  e->add_option("remote", a->remote, "git remote (default: the branch's remote, origin)");
  e->add_flag("--all", a->all, "every remote of this repository");
  e->add_flag("--global", a->global, "every repository of this user");
  return {[] {
            remember_command_line_agent();
            ThreadPool pool(ThreadPool::default_threads());
            return git::run_lfs_agent(pool);
          },
          [a] {
            Status s = lfs_enable(*a);
            return s ? 0 : fail(s.error().context("lfs-enable"));
          }};
}

}  // namespace zipllm::cli
