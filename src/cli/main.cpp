// git-zipllm entry point: builds the command line, runs one subcommand.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>

#include "cli/commands.h"
#include "codec/ctx_rans.h"
#include "util/env.h"
#include "util/file.h"
#include "util/redact.h"

namespace zipllm::cli {

int fail(const Error& e) {
  std::fprintf(stderr, "git-zipllm: error: %s\n", redact(e.message).c_str());
  return e.code == Errc::Internal ? 2 : 1;
}

Result<std::string> work_tree_path(git::Repo& repo, const std::string& given) {
  namespace fs = std::filesystem;
  auto wd = repo.workdir();
  std::error_code ec;
  fs::path abs = fs::weakly_canonical(fs::absolute(given, ec), ec);
  std::string rel =
      wd ? abs.lexically_relative(fs::weakly_canonical(fs::path(*wd), ec)).string() : "";
  if (rel.empty() || rel == "." || rel.rfind("..", 0) == 0) {
    return make_error(Errc::InvalidArgument,
                      given + " is not a file in this repository's work tree");
  }
  return rel;
}

Status check_output_is_new(const std::string& output, const std::string& input,
                           const std::vector<std::string>& bases) {
  if (same_file(input, output)) {
    return make_error(Errc::InvalidArgument, "the output " + output + " is the input " + input +
                                                 "; writing it would destroy the input");
  }
  for (const auto& b : bases) {
    if (same_file(b, output)) {
      return make_error(Errc::InvalidArgument, "the output " + output + " is the base " + b +
                                                   "; writing it would destroy the base");
    }
  }
  return {};
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

// git's way: "'trak' is not a git-zipllm command", then the closest
// visible commands (edit distance at most 2, or a prefix of one).
std::string unknown_command_message(const std::string& given,
                                    const std::vector<std::string>& commands) {
  std::string msg =
      "git-zipllm: '" + given + "' is not a git-zipllm command. See 'git zipllm --help'.";
  std::vector<std::string> close;
  for (const auto& c : commands) {
    if (edit_distance(given, c) <= 2 || (given.size() >= 3 && c.rfind(given, 0) == 0)) {
      close.push_back(c);
    }
  }
  if (!close.empty()) {
    msg +=
        close.size() == 1 ? "\n\nThe most similar command is" : "\n\nThe most similar commands are";
    for (const auto& c : close) {
      msg += "\n\t" + c;
    }
  }
  return msg;
}

}  // namespace zipllm::cli

int main(int argc, char** argv) {
  using namespace zipllm::cli;
  // Chunk buffers are a few MiB and short-lived: keep them on the heap
  // instead of fresh mmaps, whose page faults and zeroing otherwise cost
  // more than decoding.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  // A closed pipe is an error to report, not a reason to die silently.
  std::signal(SIGPIPE, SIG_IGN);
  (void)zipllm::process_umask();  // read while single-threaded
  zipllm::codec::ctx_rans::apply_settings(
      zipllm::env::string(zipllm::env::Var::Simd).value_or(""),
      zipllm::env::string(zipllm::env::Var::Gather).value_or(""));
  CLI::App app{"git-zipllm: deduplicated, delta-compressed storage of safetensors models in git"};
  app.name("git-zipllm");  // in usage lines, whatever the path it was run by
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("git-zipllm ") + ZIPLLM_VERSION);
  std::map<CLI::App*, Runner> runners;
  // Each add_* registers subcommands in order and returns their runners.
  auto reg = [&](std::vector<Runner> rs) {
    auto subs = app.get_subcommands([](CLI::App*) { return true; });
    size_t first = subs.size() - rs.size();
    for (size_t i = 0; i < rs.size(); ++i) {
      runners[subs[first + i]] = std::move(rs[i]);
    }
  };
  reg({add_compress(app)});
  reg({add_decompress(app)});
  reg({add_demo(app)});
  reg(add_install(app));
  reg(add_track(app));
  reg(add_filter(app));
  reg(add_checkout(app));
  reg(add_status(app));
  reg(add_merge(app));
  reg(add_verify(app));
  reg(add_base(app));
  reg(add_gc(app));
  reg(add_sync(app));
  reg(add_transfer(app));
  reg(add_trust(app));
  reg(add_env(app));
  reg(add_serve(app));
  reg(add_migrate(app));
  // -q on every command, as git has it: no progress lines.
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "no progress output");
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    sub->add_flag("-q,--quiet", quiet, "no progress output");
  }
  // `version`, `help [COMMAND]` and unknown commands, as git answers them.
  std::vector<char*> args(argv, argv + argc);
  std::string help_flag = "--help";
  if (argc >= 2 && std::string(argv[1]) == "version") {
    std::printf("git-zipllm %s\n", ZIPLLM_VERSION);
    return 0;
  }
  if (argc >= 2 && std::string(argv[1]) == "help") {
    args.erase(args.begin() + 1);
    args.push_back(help_flag.data());
  }
  if (args.size() >= 2 && args[1][0] != '-') {
    std::vector<std::string> visible;
    bool known = false;
    for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      known = known || sub->get_name() == args[1];
      if (!sub->get_group().empty()) {
        visible.push_back(sub->get_name());
      }
    }
    if (!known) {
      std::fprintf(stderr, "%s\n", unknown_command_message(args[1], visible).c_str());
      return 1;
    }
  }
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 1;
  }
  zipllm::Progress::set_quiet(quiet);
  for (CLI::App* sub : app.get_subcommands()) {
    auto it = runners.find(sub);
    if (it != runners.end()) {
      try {
        return it->second();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "git-zipllm: internal error: %s\n", e.what());
        return 2;
      }
    }
  }
  return 2;
}
