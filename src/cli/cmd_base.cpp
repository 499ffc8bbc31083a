// git zipllm base add NAME FILE... | base list
// Registers a base model (sharded or not) in the repository's store under a
// name, for .zipllmconfig `zipllm.base = NAME` and model cards'
// `base_model: NAME`.
#include <cstdio>

#include "cli/commands.h"
#include "git/base_registry.h"

namespace zipllm::cli {

namespace {

struct Args {
  std::string name;
  std::vector<std::string> files;
};

Status add(const Args& a) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open(repo));
  ThreadPool pool(ThreadPool::default_threads());
  TRY_STATUS(git::register_base(*store, a.name, a.files, pool));
  std::printf("registered base %s (%zu file(s))\n", a.name.c_str(), a.files.size());
  return {};
}

Status list() {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open(repo));
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

}  // namespace

std::vector<Runner> add_base(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* base = app.add_subcommand("base", "Register and list named base models");
  base->require_subcommand(1);
  auto* add_cmd =
      base->add_subcommand("add", "Store a base model under NAME (repeat FILE for shards)");
  add_cmd->add_option("name", a->name, "name, e.g. org/model")->required();
  add_cmd->add_option("files", a->files, "safetensors files")->required();
  base->add_subcommand("list", "List registered base models");
  return {[a, add_cmd] {
    Status s = add_cmd->parsed() ? add(*a) : list();
    return s ? 0 : fail(s.error().context("base"));
  }};
}

}  // namespace zipllm::cli
