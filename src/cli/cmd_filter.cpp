// git zipllm filter-process | clean [PATH] | smudge [PATH]
// The filter driver commands git runs (configured by `git zipllm install`).
#include "cli/commands.h"
#include "git/filter.h"

namespace zipllm::cli {

std::vector<Runner> add_filter(CLI::App& app) {
  std::vector<Runner> out;
  auto* fp = app.add_subcommand("filter-process", "Long-running git filter (git runs this)");
  (void)fp;
  out.push_back([] {
    ThreadPool pool(ThreadPool::default_threads());
    return git::run_filter_process(pool);
  });
  for (bool clean : {true, false}) {
    auto path = std::make_shared<std::string>();
    auto* cmd =
        app.add_subcommand(clean ? "clean" : "smudge",
                           clean ? "One-shot clean filter: stdin -> manifest on stdout"
                                 : "One-shot smudge filter: manifest on stdin -> file on stdout");
    cmd->add_option("path", *path, "path of the file in the repository");
    out.push_back([clean, path] {
      ThreadPool pool(ThreadPool::default_threads());
      return git::run_filter_once(pool, clean, *path);
    });
  }
  return out;
}

}  // namespace zipllm::cli
