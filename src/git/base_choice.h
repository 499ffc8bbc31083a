// The base a file is delta-coded against when it enters the store through
// a door that knows its repository (the clean filter, the LFS agent):
// what the user declared (base_resolution.h, rules 1-3), weighed by the base
// finder (ops/base_finder.h) against the models the repository already
// holds:
//   - every tracked model in the index (else HEAD), read from the work tree
//     where the file still has those bytes; the shards of one model
//     (NAME-00001-of-00004.safetensors) as one candidate;
//   - every model the store holds that shares one of F's largest tensors
//     (the store's signature index, ops/model_index.h: models cleaned,
//     restored or stored by the LFS door, in this repository or any other
//     sharing the store), read from git-lfs's own copy in .git/lfs/objects
//     when it has one;
//   - models stored earlier by this process (the files before this one in
//     the same `git add`, in git's order);
//   - HEAD's version of the same path (a checkpoint series at one path;
//     not used when the finder rules it out as unrelated);
//   - registered bases (`git zipllm base add`);
//   - only when none of the above shares F's tensors: models in the
//     upstream stores' index (pushed from other clones), at most two, whose
//     sampled tensors are then fetched.
// A cheap signature check (tensor names and dtypes, from manifests) keeps
// at most a handful, scored by sampled content.
//
// `zipllm.autobase` (git config or .zipllmconfig) decides what the finder
// may do: `on` (default) — it chooses when nothing is declared, and
// overrides a declaration only when its choice scores clearly better
// (estimated at least 10 % smaller); `suggest` — the declared base or the
// previous version is used as before and the finder's better choice is
// printed as a hint; `off` — declared base, else the previous version.
#pragma once

#include <functional>

#include "git/base_resolution.h"
#include "ops/base_finder.h"

namespace zipllm::git {

enum class AutoBase { On, Suggest, Off };

// The candidate a tracked path belongs to: the path, or for a shard of a
// sharded model ("dir/model-00002-of-00004.safetensors") the whole model
// ("dir/model-*-of-00004.safetensors").
std::string candidate_name(const std::string& path);

// Reads zipllm.autobase; an unknown value is an error naming it.
Result<AutoBase> autobase_setting(Repo& repo);

struct BaseChoice {
  std::optional<ResolvedBase> base;  // nullopt: coded alone
  // What the finder saw, best first (empty when it did not run).
  std::vector<ops::CandidateModel> candidates;
  std::vector<ops::BaseScore> ranking;
};

// What was chosen for a stored file, kept beside the clean cache
// (<store>/cache/choice/<sha256 hex>, text) for `git zipllm show`: the base
// and how it was chosen, and the finder's best candidates. Best effort (a
// cache: losing it loses nothing).
void record_choice(const ModelStore& store, const format::Manifest& m, const BaseChoice& choice);
std::optional<std::string> recorded_choice(const ModelStore& store,
                                           const std::array<uint8_t, 32>& sha256);

class BaseChooser {
 public:
  BaseChooser(Repo& repo, ModelStore& store, ThreadPool& pool)
      : m_repo(repo), m_store(store), m_pool(pool) {}

  // The base for the bytes in `file` (a spool or the work tree file), to be
  // stored under `path` (repository-relative; may be empty when unknown,
  // e.g. an LFS object no commit names yet). A file that is not
  // safetensors gets the declared base only.
  // `mode` overrides zipllm.autobase (`git zipllm base suggest` ranks even
  // when the finder is off).
  Result<BaseChoice> choose(const std::string& path, const std::string& file,
                            std::optional<AutoBase> mode = std::nullopt);

  // A model this process just stored under `path` (or, with no path, as
  // `file`): a candidate for the files that follow it. `file` holds its
  // bytes if it is not the work tree file at `path`.
  void remember(const std::string& path, const format::Manifest& m, const std::string& file = "");

  // Only candidates whose name `allow` accepts (names as in BaseChoice:
  // candidate_name(path), "HEAD:path", "registered base NAME", "LFS object
  // OID"). Repack uses it to offer each model only those before it.
  void set_candidate_filter(std::function<bool(const std::string&)> allow) {
    m_allow = std::move(allow);
  }

 private:
  struct Known {
    format::Manifest manifest;
    std::string file;  // where its bytes may still be read ("" if nowhere)
  };
  Status load_known();
  // Whether the finder scored this path's previous version and found it
  // unrelated (a model retrained from scratch at the same path).
  bool previous_ruled_out(const std::string& path, const BaseChoice& choice);
  // Whether the store holds every tensor object of `m`.
  bool all_local(const format::Manifest& m);
  std::vector<ops::CandidateModel> candidates_for(const std::string& path, const format::Header& h);
  // The store's models (ops/model_index.h) that share one of F's largest
  // tensors.
  std::vector<Known> stored_like(const format::Header& h);
  // The upstream stores' models (their index, kept by push) that share one
  // of F's largest tensors and that this store does not hold.
  std::vector<ops::CandidateModel> remote_like(const format::Header& h);

  Repo& m_repo;
  ModelStore& m_store;
  ThreadPool& m_pool;
  bool m_loaded = false;
  std::optional<AutoBase> m_mode;
  // By path (or "LFS object <oid>"): tracked models, then what this
  // process stored.
  std::map<std::string, Known> m_models;
  std::function<bool(const std::string&)> m_allow;
  std::map<std::array<uint8_t, 32>, bool> m_all_local;  // by model SHA-256
  std::map<std::string, bool> m_remote_ok;              // by upstream URL
};

}  // namespace zipllm::git
