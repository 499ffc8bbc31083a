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

// The `base_model:` entries of a model card's YAML front matter, in order.
std::vector<std::string> model_card_bases(const std::string& readme_text);

}  // namespace zipllm::git
