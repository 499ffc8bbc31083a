// Named base models registered in a repository's store:
//
//   <store>/bases/<NAME>/<shard>.manifest    one manifest per shard file
//
// NAME is a Hugging Face style id ("org/model"). `git zipllm base add`
// ingests the files (their objects go to the store) and writes the
// manifests; base resolution finds a base by name from .zipllmconfig or a
// model card's `base_model:`.
#pragma once

#include "git/model_store.h"
#include "ops/base_model.h"
#include "util/thread_pool.h"

namespace zipllm::git {

struct RegisteredBase {
  std::string name;
  std::vector<std::pair<std::string, format::Manifest>> shards;  // file name, manifest
};

bool valid_base_name(const std::string& name);
// Registering the same files again is a no-op; re-pointing a name at other
// files needs `force` (models coded against the old ones keep decoding:
// their objects stay while anything needs them, see git/prune.h).
Status register_base(ModelStore& store, const std::string& name,
                     const std::vector<std::string>& files, ThreadPool& pool, bool force = false);
// Forgets the name (the objects stay while a delta needs them); NotFound if
// no base of that name is registered.
Status remove_base(ModelStore& store, const std::string& name);
// nullopt if no base of that name is registered.
Result<std::optional<RegisteredBase>> load_base(const ModelStore& store, const std::string& name);
std::vector<std::string> list_bases(const ModelStore& store);

// The names travel with the repository: `base add` also writes
//
//   .zipllmbases/<NAME>/<shard>.manifest    (in the work tree, to commit)
//
// and a clone (a teammate's) registers what that folder names in its own
// store when it first needs a base. The objects travel as any manifest's
// do: a push sends what every manifest in the pushed history needs.
inline constexpr const char* k_committed_bases_dir = ".zipllmbases";
Status write_committed_base(Repo& repo, const std::string& name);
Status remove_committed_base(Repo& repo, const std::string& name);
// Registers in `store` every base the work tree's .zipllmbases names and the
// store does not have (a registration in the store wins); once per process
// and store. Unreadable entries are skipped (they name no base).
void import_committed_bases(Repo& repo, const ModelStore& store);

// The `base_model:` entries of a model card's YAML front matter, in order.
std::vector<std::string> model_card_bases(const std::string& readme_text);
// Its `base_model_relation:` (finetune, adapter, quantized, merge), or "".
// An adapter's or a quantization's base is no delta base (other tensors,
// other dtypes): such a card declares nothing, and the finder chooses.
std::string model_card_relation(const std::string& readme_text);

}  // namespace zipllm::git
