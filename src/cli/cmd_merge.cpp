// git zipllm merge-driver BASE OURS THEIRS PATH
// The merge driver for tracked models (merge.zipllm.driver): a model file
// merges at file granularity. If one side left it unchanged, the other
// side's version wins; if both changed it differently, it is a conflict with
// a message saying how to pick one. OURS is left as it was on conflict, so
// the work tree holds a valid model.
#include <cstdio>

#include "cli/commands.h"
#include "util/file.h"

namespace zipllm::cli {

namespace {

struct Args {
  std::string base, ours, theirs, path;
};

Result<int> run(const Args& a) {
  constexpr uint64_t k_max = 1ull << 30;
  auto base = TRY(read_whole_file(a.base, k_max));
  auto ours = TRY(read_whole_file(a.ours, k_max));
  auto theirs = TRY(read_whole_file(a.theirs, k_max));
  if (ours == theirs || theirs == base) {
    return 0;  // keep ours
  }
  if (ours == base) {
    AtomicFile f = TRY(AtomicFile::create(a.ours, 0644));
    TRY_STATUS(f.write(theirs));
    TRY_STATUS(f.commit());
    return 0;
  }
  std::fprintf(
      stderr,
      "git-zipllm: %s: both sides changed this model; it cannot be merged tensor by "
      "tensor.\n  Keep one version: git checkout --ours -- %s  (or --theirs), then git add %s\n",
      a.path.c_str(), a.path.c_str(), a.path.c_str());
  return 1;
}

}  // namespace

std::vector<Runner> add_merge(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("merge-driver", "Merge driver for tracked models (git runs this)");
  cmd->add_option("base", a->base)->required();
  cmd->add_option("ours", a->ours)->required();
  cmd->add_option("theirs", a->theirs)->required();
  cmd->add_option("path", a->path);
  return {[a] {
    auto r = run(*a);
    return r ? *r : fail(r.error().context("merge-driver"));
  }};
}

}  // namespace zipllm::cli
