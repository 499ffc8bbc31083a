// git zipllm base add [--force] NAME FILE... | base list | base remove NAME |
// base suggest PATH...
// Registers a base model (sharded or not) in the repository's store under a
// name, for .zipllmconfig `zipllm.base = NAME` and model cards'
// `base_model: NAME`; shows how the base finder ranks the candidates for a
// work tree file, storing nothing.
#include <cstdio>

#include "cli/commands.h"
#include "git/base_choice.h"
#include "git/base_registry.h"

namespace zipllm::cli {

namespace {

struct Args {
  std::string name;
  std::vector<std::string> files;
  bool force = false;
};

Status add(const Args& a) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open(repo));
  ThreadPool pool(ThreadPool::default_threads());
  TRY_STATUS(git::register_base(*store, a.name, a.files, pool, a.force));
  std::printf("registered base %s (%zu file(s))\n", a.name.c_str(), a.files.size());
  if (repo.workdir()) {
    TRY_STATUS(git::write_committed_base(repo, a.name));
    std::printf(
        "Next: git add %s (commit it, so clones and teammates know the name; the base's "
        "objects are pushed with it)\n",
        git::k_committed_bases_dir);
  }
  return {};
}

Status remove(const std::string& name) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open_local(repo));
  TRY_STATUS(git::remove_base(*store, name));
  TRY_STATUS(git::remove_committed_base(repo, name));
  std::printf("removed base %s (`git zipllm prune` deletes its objects once nothing needs them)\n",
              name.c_str());
  return {};
}

Status list() {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open(repo));
  git::import_committed_bases(repo, *store);
  for (const auto& name : git::list_bases(*store)) {
    auto rb = TRY(git::load_base(*store, name));
    if (!rb) {
      continue;
    }
    uint64_t size = 0;
    size_t tensors = 0;
    for (const auto& [shard, m] : rb->shards) {
      size += m.size;
      tensors += m.tensors.size();
    }
    std::printf("%-40s %zu shard(s), %zu tensors, %s\n", name.c_str(), rb->shards.size(), tensors,
                human_bytes(size).c_str());
  }
  return {};
}

Status suggest(const std::vector<std::string>& paths) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open_local(repo));
  ThreadPool pool(ThreadPool::default_threads());
  git::BaseChooser chooser(repo, *store, pool);
  for (const auto& given : paths) {
    std::string path = TRY(work_tree_path(repo, given));
    auto choice =
        TRY_CTX(chooser.choose(path, *repo.workdir() + "/" + path, git::AutoBase::On), given);
    std::printf("%s: %s\n", path.c_str(),
                choice.base ? ("against " + choice.base->origin).c_str() : "alone (no base)");
    if (choice.ranking.empty()) {
      std::printf("  no candidate shares most of its tensors\n");
      continue;
    }
    std::printf("  %-48s %8s %9s %9s %6s\n", "candidate", "common", "same exp", "est. size",
                "depth");
    for (const auto& s : choice.ranking) {
      std::printf("  %-48s %7.0f%% %8.0f%% %9s %6u  %s\n", choice.candidates[s.index].name.c_str(),
                  s.coverage * 100, s.exponent_match * 100,
                  s.sampled ? (std::to_string(int(s.ratio * 100 + 0.5)) + "%").c_str() : "-",
                  unsigned(s.depth), s.related ? "" : s.why_not.c_str());
    }
  }
  return {};
}

}  // namespace

std::vector<Runner> add_base(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* base = app.add_subcommand(
      "base",
      "Named base models (add, list, remove) and how the finder ranks candidates (suggest)");
  base->require_subcommand(1);
  auto* add_cmd =
      base->add_subcommand("add", "Store a base model under NAME (repeat FILE for shards)");
  add_cmd->add_option("name", a->name, "name, e.g. org/model")->required();
  add_cmd->add_option("files", a->files, "safetensors files")->required();
  add_cmd->add_flag("--force", a->force, "re-point a name registered with other files");
  base->add_subcommand("list", "List registered base models");
  auto* remove_cmd = base->add_subcommand(
      "remove", "Forget a registered base (its objects stay while a delta needs them)");
  remove_cmd->add_option("name", a->name, "name, e.g. org/model")->required();
  auto paths = std::make_shared<std::vector<std::string>>();
  auto* suggest_cmd = base->add_subcommand(
      "suggest",
      "How the base finder ranks the candidates for work tree files (they are not stored)");
  suggest_cmd->add_option("paths", *paths, "safetensors files in the work tree")->required();
  return {[a, add_cmd, remove_cmd, suggest_cmd, paths] {
    Status s = add_cmd->parsed()       ? add(*a)
               : remove_cmd->parsed()  ? remove(a->name)
               : suggest_cmd->parsed() ? suggest(*paths)
                                       : list();
    return s ? 0 : fail(s.error().context("base"));
  }};
}

}  // namespace zipllm::cli
