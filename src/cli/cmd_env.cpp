// git zipllm env: what this git-zipllm sees, for bug reports and for
// finding out why something is not used: version, the filter configuration
// at each scope, attributes, store paths, the remote store and where its URL
// came from, the LFS agent configuration, and every GIT_ZIPLLM_ variable.
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "codec/ctx_rans.h"
#include "git/git_command.h"
#include "git/install.h"
#include "git/settings.h"
#include "util/env.h"
#include "util/redact.h"
#include "util/thread_pool.h"

namespace zipllm::cli {

namespace {

std::string config_at(const std::string& scope, const std::string& key) {
  auto r = git::run_git({"config", scope, "--get", key});
  if (!r || r->status != 0) {
    return "";
  }
  std::string v = r->output;
  while (!v.empty() && v.back() == '\n') {
    v.pop_back();
  }
  return v;
}

void row(const std::string& k, const std::string& v) {
  std::printf("%-34s %s\n", k.c_str(), redact(v).c_str());
}

Status run() {
  row("git-zipllm", ZIPLLM_VERSION);
  row("codec kernel", std::string(codec::ctx_rans::kernel_name(codec::ctx_rans::active_kernel())) +
                          " (GIT_ZIPLLM_SIMD=scalar|avx2 caps it)");
  row("codec table lookups", std::string(codec::ctx_rans::use_gathers() ? "gather" : "loads") +
                                 " (GIT_ZIPLLM_GATHER=on|off)");
  row("threads",
      std::to_string(ThreadPool::default_threads()) +
          " (GIT_ZIPLLM_THREADS; cores usable: " + std::to_string(ThreadPool::usable_cores()) +
          " of " + std::to_string(std::thread::hardware_concurrency()) + ")");
  auto repo = git::Repo::open();
  for (const char* scope : {"--system", "--global", "--local"}) {
    std::string process = config_at(scope, "filter.zipllm.process");
    row(std::string("filter (") + (scope + 2) + ")",
        process.empty() ? "not configured"
                        : process + ", required=" + config_at(scope, "filter.zipllm.required"));
  }
  if (repo) {
    row("filter in effect",
        git::filter_configured(*repo) ? "yes" : "no (git add would store raw files)");
    row("git directory", repo->common_dir());
    row("work tree", repo->workdir().value_or("(bare)"));
    row("local store", repo->config_string("zipllm.storepath").value_or(repo->store_path()));
    git::Settings settings = git::Settings::load(*repo);
    auto target = git::resolve_remote_store(*repo, settings, "");
    row("remote store",
        target ? target->url + "  (" + target->how + ")" : "none: " + target.error().message);
    if (target && !target->note.empty()) {
      row("", target->note);
    }
    for (const auto& t : repo->config_strings("zipllm.trusted")) {
      row("trusted committed setting", t);
    }
    auto tracked = repo->tracked_paths();
    row("tracked model files", tracked ? std::to_string(tracked->size()) : tracked.error().message);
    row("lfs.standalonetransferagent",
        repo->config_string("lfs.standalonetransferagent").value_or("(unset)"));
  } else {
    row("repository", "none here (" + repo.error().message + ")");
  }
  row("lfs.customtransfer.zipllm.path", config_at("--global", "lfs.customtransfer.zipllm.path"));
  std::printf("\nenvironment (docs: HACKING.md):\n");
  for (const auto& e : env::table()) {
    auto v = env::string(e.var);
    std::printf("  %-34s %-10s %s\n", e.name, v ? redact(*v).c_str() : "(unset)", e.fallback);
  }
  return {};
}

}  // namespace

std::vector<Runner> add_env(CLI::App& app) {
  app.add_subcommand("env",
                     "Show the configuration git-zipllm sees (filter, stores, LFS, environment)");
  return {[] {
    Status s = run();
    return s ? 0 : fail(s.error().context("env"));
  }};
}

}  // namespace zipllm::cli
