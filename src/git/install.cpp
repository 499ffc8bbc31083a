#include "git/install.h"

#include <sstream>

#include "git/git_command.h"

namespace zipllm::git {

namespace {

Result<std::string> current(const std::string& scope, const std::string& key) {
  auto r = TRY(run_git({"config", scope, "--get", key}));
  std::string v = r.output;
  while (!v.empty() && v.back() == '\n') {
    v.pop_back();
  }
  return r.status == 0 ? v : std::string();
}

}  // namespace

const std::vector<ConfigKey>& install_keys() {
  static const std::vector<ConfigKey> keys = {
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
  return keys;
}

Status install_config(const std::string& scope, bool force) {
  for (const ConfigKey& k : install_keys()) {
    std::string have = TRY(current(scope, k.name));
    if (!have.empty() && have != k.value && !force) {
      return make_error(Errc::InvalidArgument, std::string(k.name) + " is already set to '" + have +
                                                   "' (" + scope.substr(2) +
                                                   " config); use --force to replace it");
    }
  }
  for (const ConfigKey& k : install_keys()) {
    auto r = TRY(run_git({"config", scope, "--replace-all", k.name, k.value}));
    if (r.status != 0) {
      return make_error(Errc::IoError,
                        std::string("git config ") + scope + " " + k.name + " failed");
    }
  }
  return {};
}

Status uninstall_config(const std::string& scope, bool force) {
  for (const ConfigKey& k : install_keys()) {
    std::string have = TRY(current(scope, k.name));
    if (have.empty() || (have != k.value && !force)) {
      continue;  // not ours: leave it
    }
    TRY(run_git({"config", scope, "--unset-all", k.name}));
  }
  // Drop the sections if they are now empty.
  for (const char* section :
       {"filter.zipllm", "diff.zipllm", "merge.zipllm", "lfs.customtransfer.zipllm"}) {
    auto r = TRY(run_git({"config", scope, "--get-regexp", std::string("^") + section + "\\."}));
    if (r.output.empty()) {
      (void)run_git({"config", scope, "--remove-section", section});
    }
  }
  return {};
}

bool filter_configured(Repo& repo) {
  auto process = repo.config_string("filter.zipllm.process");
  auto required = repo.config_string("filter.zipllm.required");
  return process && process->find("git-zipllm") != std::string::npos && required &&
         (*required == "true" || *required == "1" || *required == "yes" || *required == "on");
}

std::string attribute_line(const std::string& pattern) {
  return pattern + " filter=zipllm diff=zipllm merge=zipllm -text";
}

bool is_zipllm_line(const std::string& line, const std::string& pattern) {
  std::istringstream in(line);
  std::string first, word;
  in >> first;
  if (!pattern.empty() && first != pattern) {
    return false;
  }
  while (in >> word) {
    if (word == "filter=zipllm") {
      return true;
    }
  }
  return false;
}

Result<std::string> ensure_filter(Repo& repo) {
  if (filter_configured(repo)) {
    return std::string();
  }
  TRY_STATUS_CTX(
      install_config("--local", false),
      "the zipllm filter is not configured, and configuring it for this repository failed");
  return std::string(
      "the zipllm filter was not configured; installed it for this repository (git config "
      "--local), so "
      "`git add` stores model files as manifests. `git zipllm install` does it for all your "
      "repositories.");
}

}  // namespace zipllm::git
