// Models in the local Hugging Face hub cache, by id ("org/name"): where
// `huggingface_hub` (transformers, `huggingface-cli download`) put them.
//
//   $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
//   else ~/.cache/huggingface/hub
//     models--ORG--NAME/refs/main            the commit main points at
//     models--ORG--NAME/snapshots/<commit>/  the files (links into blobs/)
//
// The snapshot main points at is used, else the newest one. Its weights are
// the shards listed by model.safetensors.index.json, else model.safetensors,
// else its only *.safetensors file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace zipllm::git {

// The cache folder the environment names (it may not exist).
std::string hf_hub_cache();

struct HfModel {
  std::string snapshot;            // the snapshot folder
  std::vector<std::string> files;  // its safetensors weights, in shard order
};

// nullopt when the cache has no snapshot of `id`; an error (naming the
// file) for a snapshot whose weights are ambiguous or incomplete.
Result<std::optional<HfModel>> hf_cached_model(const std::string& id);

}  // namespace zipllm::git
