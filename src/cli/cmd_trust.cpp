// git zipllm trust [--list | --revoke]
// Approves the committed .zipllmconfig's store URLs and S3 endpoint for
// this clone (git/settings.h): each "key=value" is added to zipllm.trusted
// in the repository's local config. A changed value needs approving again.
#include <cstdio>

#include "cli/commands.h"
#include "git/git_command.h"
#include "git/settings.h"
#include "util/redact.h"

namespace zipllm::cli {

namespace {

Status trust(bool list, bool revoke) {
  auto repo = TRY(git::Repo::open());
  if (revoke) {
    (void)TRY(git::run_git({"config", "--local", "--unset-all", "zipllm.trusted"}));
    std::printf("git-zipllm: no committed setting is trusted in this repository now\n");
    return {};
  }
  auto trusted = repo.config_strings("zipllm.trusted");
  if (list) {
    for (const auto& t : trusted) {
      std::printf("%s\n", redact(t).c_str());
    }
    return {};
  }
  git::Settings settings = git::Settings::load(repo);
  size_t added = 0, shown = 0;
  for (const auto& [key, value] : settings.committed_all()) {
    if (!git::needs_trust(key)) {
      continue;
    }
    ++shown;
    std::string entry = key + "=" + value;
    if (std::find(trusted.begin(), trusted.end(), entry) != trusted.end()) {
      std::printf("already trusted: %s = %s\n", key.c_str(), redact(value).c_str());
      continue;
    }
    auto r = TRY(git::run_git({"config", "--local", "--add", "zipllm.trusted", entry}));
    if (r.status != 0) {
      return make_error(Errc::IoError, "git config --local --add zipllm.trusted failed");
    }
    std::printf("trusted: %s = %s\n", key.c_str(), redact(value).c_str());
    ++added;
  }
  if (shown == 0) {
    std::printf(
        "git-zipllm: the committed .zipllmconfig sets no store URL or endpoint; nothing to "
        "trust\n");
  }
  return {};
}

}  // namespace

std::vector<Runner> add_trust(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "trust",
      "Use the store URL and S3 endpoint the committed .zipllmconfig names (review it first)");
  auto list = std::make_shared<bool>(false);
  auto revoke = std::make_shared<bool>(false);
  cmd->add_flag("--list", *list, "show what this repository trusts");
  cmd->add_flag("--revoke", *revoke, "trust no committed setting any more");
  return {[list, revoke] {
    Status s = trust(*list, *revoke);
    return s ? 0 : fail(s.error().context("trust"));
  }};
}

}  // namespace zipllm::cli
