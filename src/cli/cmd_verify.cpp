// git zipllm verify [--repair]: decode every object in the store and check
// it against its id (every chunk against its checksums on the way), name
// unreadable packs and entries that are not objects, and check that every
// tracked model's manifest in the index parses and has all its objects.
// --repair quarantines what is damaged and writes it again from work tree
// files that still hold the bytes, else from the remote's store
// (git/repair.h).
// git zipllm verify --remote [REMOTE]: check that the remote's store holds
// every object HEAD's model files need (delta bases included), so a clone
// will work; names what is missing.
#include <cstdio>
#include <mutex>

#include "cli/commands.h"
#include "git/base_resolution.h"
#include "git/model_store.h"
#include "git/repair.h"
#include "git/settings.h"
#include "git/sync.h"

namespace zipllm::cli {

namespace {

Status verify_object(const store::Resolver& r, const ObjectId& id, uint64_t& bytes) {
  store::ObjectReader reader = TRY(r.open(id));
  IdHasher hasher;
  for (uint32_t i = 0; i < reader.header().chunk_count(); ++i) {
    auto raw = TRY(r.decode_chunk(reader, i));
    hasher.update(raw);
    bytes += raw.size();
  }
  if (hasher.finish() != id) {
    return make_error(Errc::Corrupt,
                      "object " + id.hex() + " decodes to bytes with a different hash");
  }
  return {};
}

Status run(bool repair) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open(repo));
  auto ids = store->local->list_ids();
  std::vector<ObjectId> corrupt;
  uint64_t bytes = 0;
  for (const auto& id : ids) {
    Status s = verify_object(store->resolver, id, bytes);
    if (!s) {
      std::fprintf(stderr, "git-zipllm: verify: corrupt: %s\n", s.error().message.c_str());
      corrupt.push_back(id);
    }
  }
  auto bad_packs = store->local->bad_packs();
  for (const auto& [path, why] : bad_packs) {
    std::fprintf(stderr, "git-zipllm: verify: corrupt: pack %s cannot be read: %s\n", path.c_str(),
                 why.c_str());
  }
  std::vector<ObjectId> missing;
  size_t files = 0, damaged_manifests = 0;
  auto paths = TRY(repo.tracked_paths());
  for (auto& p : TRY(repo.lfs_paths())) {
    paths.push_back(std::move(p));  // the LFS door's, when git-zipllm stored them
  }
  for (const auto& p : paths) {
    auto m = git::index_manifest(repo, p);
    if (!m) {
      std::fprintf(stderr, "git-zipllm: verify: %s\n", m.error().message.c_str());
      ++damaged_manifests;
      continue;
    }
    if (!*m) {
      continue;
    }
    ++files;
    for (const auto& id : format::object_ids(**m)) {
      if (!store->local->contains(id)) {
        std::fprintf(stderr, "git-zipllm: verify: %s needs object %s, which is missing%s\n",
                     p.c_str(), id.hex().c_str(),
                     bad_packs.empty() ? "" : " (it may be in a damaged pack)");
        missing.push_back(id);
      }
    }
  }
  const std::string unfiltered =
      git::unfiltered_manifests_message(TRY(repo.unfiltered_manifests()));
  if (!unfiltered.empty()) {
    std::fprintf(stderr, "git-zipllm: verify: %s\n", unfiltered.c_str());
  }
  std::printf(
      "verified %zu objects (%s raw), %zu corrupt; %zu damaged pack(s); %zu tracked files, %zu "
      "missing "
      "objects%s\n",
      ids.size(), human_bytes(bytes).c_str(), corrupt.size(), bad_packs.size(), files,
      missing.size(),
      damaged_manifests
          ? (", " + std::to_string(damaged_manifests) + " damaged manifest(s)").c_str()
          : "");
  if (corrupt.empty() && missing.empty() && bad_packs.empty() && !damaged_manifests) {
    if (!unfiltered.empty()) {
      return make_error(Errc::InvalidArgument,
                        "the index holds manifests that git will not restore (see above)");
    }
    return {};
  }
  if (!repair) {
    return make_error(
        corrupt.empty() && bad_packs.empty() ? Errc::NotFound : Errc::Corrupt,
        "the store has problems (see above); `git zipllm verify --repair` rewrites damaged "
        "and missing objects from the work tree or the remote's store");
  }
  std::vector<ObjectId> bad = corrupt;
  bad.insert(bad.end(), missing.begin(), missing.end());
  // Unreadable packs: what they held is missing above, and repaired below.
  for (const auto& [path, why] : bad_packs) {
    TRY_STATUS(store->local->quarantine_pack(path));
  }
  ThreadPool pool(ThreadPool::default_threads());
  auto rep = TRY(git::repair_objects(repo, *store, pool, bad));
  for (const auto& n : rep.notes) {
    std::fprintf(stderr, "git-zipllm: repair: %s\n", n.c_str());
  }
  // What was written again is checked like everything else.
  size_t still_bad = rep.unrepaired.size();
  for (const auto* list : {&rep.from_work_tree, &rep.downloaded}) {
    for (const auto& id : *list) {
      uint64_t b = 0;
      if (Status s = verify_object(store->resolver, id, b); !s) {
        std::fprintf(stderr, "git-zipllm: repair: %s\n", s.error().message.c_str());
        ++still_bad;
      }
    }
  }
  for (const auto& id : rep.unrepaired) {
    std::fprintf(
        stderr,
        "git-zipllm: repair: object %s: no work tree file or upstream store has its bytes\n",
        id.hex().c_str());
  }
  std::printf("repaired %zu object(s) from the work tree, %zu from the remote's store; %zu left\n",
              rep.from_work_tree.size(), rep.downloaded.size(), still_bad);
  if (still_bad || damaged_manifests) {
    return make_error(Errc::Corrupt,
                      std::to_string(still_bad) + " object(s) could not be repaired" +
                          (damaged_manifests ? " and the index holds damaged manifests" : ""));
  }
  if (!unfiltered.empty()) {
    return make_error(Errc::InvalidArgument,
                      "the index holds manifests that git will not restore (see above)");
  }
  return {};
}

Status verify_remote(const std::string& name) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open_local(repo));
  git::Settings settings = git::Settings::load(repo);
  auto remote = TRY(git::open_remote_store(repo, settings, name));
  TRY_STATUS(remote::ping_remote(*remote));
  std::vector<format::Manifest> manifests;
  for (auto& tm : TRY(git::manifests_in_trees(repo, {"HEAD"}))) {
    manifests.push_back(std::move(tm.manifest));
  }
  // With everything local, follow delta bases too; otherwise the files' own
  // objects are what can be checked.
  auto closure = git::needed_objects(*store, manifests);
  std::vector<ObjectId> ids;
  if (closure) {
    ids = std::move(*closure);
  } else {
    ids = git::distinct_object_ids(manifests);
  }
  std::mutex mutex;
  std::vector<ObjectId> missing;
  size_t wrong_size = 0;
  auto opts = remote::default_transfer_options("");
  TRY_STATUS(remote::parallel_for(ids.size(), opts.jobs, [&](size_t i) -> Status {
    return remote::with_retry(opts, [&]() -> Status {
      auto size = TRY(remote->object_size(ids[i]));
      // A copy of another size than ours is damaged (a truncated upload).
      auto here = TRY(store->local->locate(ids[i]));
      bool damaged = size && here && *size != here->length;
      if (!size || damaged) {
        std::lock_guard lock(mutex);
        missing.push_back(ids[i]);
        if (damaged) {
          ++wrong_size;
          std::fprintf(
              stderr,
              "git-zipllm: verify: object %s in the remote store has %llu bytes, not %llu\n",
              ids[i].hex().c_str(), static_cast<unsigned long long>(*size),
              static_cast<unsigned long long>(here->length));
        }
      }
      return {};
    });
  }));
  std::printf("%s: %zu object(s) needed by HEAD's %zu model file(s)%s, %zu missing\n",
              remote->url().c_str(), ids.size(), manifests.size(),
              closure ? " (with delta bases)" : " (delta bases not checked: not all local)",
              missing.size());
  if (wrong_size) {
    std::printf("(%zu of them damaged: wrong size)\n", wrong_size);
  }
  for (size_t i = 0; i < missing.size() && i < 10; ++i) {
    std::fprintf(stderr, "git-zipllm: verify: missing in the remote store: object %s\n",
                 missing[i].hex().c_str());
  }
  if (!missing.empty()) {
    return make_error(Errc::NotFound, std::to_string(missing.size()) + " object(s) missing in " +
                                          remote->url() + "; `git zipllm push` uploads them");
  }
  return {};
}

}  // namespace

std::vector<Runner> add_verify(CLI::App& app) {
  auto* cmd = app.add_subcommand("verify",
                                 "Decode every stored object and check it; report missing objects");
  auto remote_flag = std::make_shared<bool>(false);
  auto remote_name = std::make_shared<std::string>();
  auto repair = std::make_shared<bool>(false);
  cmd->add_flag("--remote", *remote_flag,
                "check the remote's store instead: does it hold all HEAD needs?");
  cmd->add_flag(
      "--repair", *repair,
      "rewrite damaged or missing objects from work tree files that hold their bytes, else "
      "download them from the remote's store");
  cmd->add_option("name", *remote_name,
                  "with --remote: git remote (default: the branch's remote, origin)");
  return {[remote_flag, remote_name, repair] {
    if (*remote_flag) {
      Status s = verify_remote(*remote_name);
      return s ? 0 : fail(s.error().context("verify --remote"));
    }
    if (!remote_name->empty()) {
      return fail(make_error(Errc::InvalidArgument, "verify: a remote name needs --remote"));
    }
    Status s = run(*repair);
    return s ? 0 : fail(s.error().context("verify"));
  }};
}

}  // namespace zipllm::cli
