// git zipllm gc [--older-than MINUTES]
// Removes what interrupted processes left behind: temp files of objects and
// packs never published (".tmp-" names), filter spools, damaged objects set
// aside in corrupt/, clean-cache entries whose objects are gone, and temp
// files an older version left beside model files in the work tree. A file
// a live process still holds (its lock, or the pid in its name) is never
// touched, whatever its age. Published objects are never deleted here.
// Also `git zipllm prune` (git/prune.h) and `git zipllm repack`
// (git/repack.h), the store's other maintenance commands.
#include <cstdio>
#include <filesystem>
#include <regex>

#include "cli/commands.h"
#include "format/manifest.h"
#include "git/model_store.h"
#include "git/prune.h"
#include "git/repack.h"

namespace zipllm::cli {

namespace {

namespace fs = std::filesystem;

class Sweeper {
 public:
  explicit Sweeper(fs::file_time_type cutoff) : m_cutoff(cutoff) {}
  // Removes `p` if it is old enough and no live process holds it.
  void sweep(const fs::path& p) {
    std::error_code ec;
    if (fs::last_write_time(p, ec) >= m_cutoff || ec || temp_file_in_use(p.string())) {
      return;
    }
    remove(p);
  }
  void remove(const fs::path& p) {
    std::error_code ec;
    uint64_t size = fs::file_size(p, ec);
    if (ec) {
      size = 0;
    }
    if (fs::remove(p, ec)) {
      ++m_removed;
      m_bytes += size;
    }
  }
  size_t removed() const { return m_removed; }
  uint64_t bytes() const { return m_bytes; }

 private:
  fs::file_time_type m_cutoff;
  size_t m_removed = 0;
  uint64_t m_bytes = 0;
};

Status run(int older_than_minutes) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open_local(repo));
  const std::string root = store->local->root();
  Sweeper sweeper(fs::file_time_type::clock::now() - std::chrono::minutes(older_than_minutes));
  for (const char* dir : {"objects", "packs", "tmp", "bases", "cache", "lfs"}) {
    for (const auto& p : list_files_recursive(root + "/" + dir)) {
      if (fs::path(p).filename().string().find(".tmp-") != std::string::npos ||
          std::string(dir) == "tmp") {
        sweeper.sweep(p);
      }
    }
  }
  for (const auto& p : list_files_recursive(root + "/corrupt")) {
    sweeper.sweep(p);
  }
  // Clean-cache entries that no longer answer (their objects are missing).
  for (const auto& e : list_dir(root + "/cache/clean")) {
    bool stale = true;
    if (auto text = read_whole_file(e, format::k_max_manifest_size)) {
      if (auto m = format::parse_manifest(std::string(text->begin(), text->end()))) {
        stale = false;
        for (const auto& id : format::object_ids(*m)) {
          stale = stale || !store->local->contains(id);
        }
      }
    }
    if (stale) {
      sweeper.remove(e);
    }
  }
  // Versions before 0.2 wrote `git zipllm checkout`'s temp file beside the
  // model: "<tracked path>.tmp-<pid>-<n>-<8 hex>".
  if (auto wd = repo.workdir()) {
    static const std::regex k_leftover(R"(\.tmp-[0-9]+-[0-9]+-[0-9a-f]{8})");
    for (const auto& p : TRY(repo.tracked_paths())) {
      fs::path file = fs::path(*wd) / p;
      for (const auto& e : list_dir(file.parent_path().string())) {
        std::string name = fs::path(e).filename().string();
        std::string stem = file.filename().string();
        if (name.size() > stem.size() && name.compare(0, stem.size(), stem) == 0 &&
            std::regex_match(name.substr(stem.size()), k_leftover) && is_plain_file(e)) {
          sweeper.sweep(e);
        }
      }
    }
  }
  std::printf("git-zipllm gc: removed %zu leftover file(s), %s\n", sweeper.removed(),
              human_bytes(sweeper.bytes()).c_str());
  return {};
}

Status prune(int grace_minutes, bool dry_run) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open_local(repo));
  git::PruneOptions opts;
  opts.dry_run = dry_run;
  opts.grace = std::chrono::minutes(std::max(0, grace_minutes));
  auto rep = TRY(git::prune_local(repo, *store, opts));
  const auto& st = rep.stats;
  std::printf(
      "git-zipllm prune: %s %llu object(s) (%s%s) that no ref, reflog entry, index or "
      "stash needs\n",
      dry_run ? "would delete" : "deleted", static_cast<unsigned long long>(st.objects),
      human_bytes(st.bytes).c_str(),
      st.packs ? (", " + std::to_string(st.packs) + " whole pack(s)").c_str() : "");
  std::printf("  kept: %zu object(s) needed by %zu manifest(s), delta bases included", rep.needed,
              rep.manifests);
  if (st.recent) {
    std::printf("; %llu unneeded but younger than %d minute(s)",
                static_cast<unsigned long long>(st.recent), grace_minutes);
  }
  if (st.packed) {
    std::printf("; %llu unneeded in packs that also hold needed ones",
                static_cast<unsigned long long>(st.packed));
  }
  std::printf("\n");
  if (rep.not_local) {
    std::printf("  %zu needed object(s) are not in this store (fetched when used)\n",
                rep.not_local);
  }
  if (rep.lfs_copies || rep.lfs_kept) {
    std::printf(
        "  Git LFS copies: %s %zu file(s) (%s) of .git/lfs/objects that the store "
        "restores (git-lfs gets them back through git-zipllm); kept %zu of checked-out "
        "files\n",
        dry_run ? "would delete" : "deleted", rep.lfs_copies,
        human_bytes(rep.lfs_copy_bytes).c_str(), rep.lfs_kept);
  }
  return {};
}

Status prune_remote(const std::string& remote, int grace_minutes, bool dry_run) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open_local(repo));
  git::RemotePruneOptions opts;
  opts.remote = remote;
  opts.dry_run = dry_run;
  opts.grace = std::chrono::minutes(std::max(0, grace_minutes));
  auto rep = TRY(git::prune_remote(repo, *store, opts));
  // What no ref needs, listed before anything goes.
  const size_t k_shown = 20;
  for (size_t i = 0; i < rep.unneeded.size() && i < k_shown; ++i) {
    std::printf("  unneeded: objects/%s/%s  %s\n", rep.unneeded[i].first.hex().substr(0, 2).c_str(),
                rep.unneeded[i].first.hex().substr(2).c_str(),
                human_bytes(rep.unneeded[i].second).c_str());
  }
  if (rep.unneeded.size() > k_shown) {
    std::printf("  ... and %zu more\n", rep.unneeded.size() - k_shown);
  }
  const auto& st = rep.stats;
  std::printf("git-zipllm prune --remote: %s %llu object(s) (%s) from %s that no ref of it needs\n",
              dry_run ? "would delete" : "deleted", static_cast<unsigned long long>(st.objects),
              human_bytes(st.bytes).c_str(), rep.url.c_str());
  std::printf("  kept: %zu object(s) needed by %zu manifest(s), delta bases included", rep.needed,
              rep.manifests);
  if (st.recent) {
    std::printf(
        "; %llu unneeded but written within the last %d minute(s) (or in packs with needed "
        "ones)",
        static_cast<unsigned long long>(st.recent), grace_minutes);
  }
  std::printf("\n");
  return {};
}

Status repack(const std::vector<std::string>& paths, bool dry_run) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open_local(repo));
  ThreadPool pool(ThreadPool::default_threads());
  git::RepackOptions opts;
  opts.dry_run = dry_run;
  for (const auto& p : paths) {
    opts.paths.push_back(TRY(work_tree_path(repo, p)));
  }
  auto rep = TRY(git::repack(repo, *store, pool, opts));
  for (const auto& f : rep.files) {
    if (f.replaced) {
      std::printf("%s: %s -> %s (%zu object(s)), %s\n", f.path.c_str(),
                  human_bytes(f.before).c_str(), human_bytes(f.after).c_str(), f.replaced,
                  f.base.c_str());
    } else {
      std::printf("%s: kept (%s)\n", f.path.c_str(),
                  f.base.empty() ? "no related base" : "no smaller encoding");
    }
  }
  std::printf("git-zipllm repack: %s %zu object(s): %s -> %s\n",
              dry_run ? "would re-encode" : "re-encoded", rep.replaced,
              human_bytes(rep.before).c_str(), human_bytes(rep.after).c_str());
  return {};
}

}  // namespace

std::vector<Runner> add_gc(CLI::App& app) {
  struct GcArgs {
    int minutes = 60;
    bool prune = false;
    int grace = 60;
    bool dry_run = false;
    std::string remote;
  };
  auto a = std::make_shared<GcArgs>();
  auto* cmd = app.add_subcommand("gc", "Remove leftovers of interrupted processes from the store");
  cmd->add_option("--older-than", a->minutes,
                  "only temp files (and, with --prune, unneeded objects) older than this many "
                  "minutes (default 60)");
  cmd->add_flag("--prune", a->prune, "also delete objects nothing needs (git zipllm prune)");
  auto* pr = app.add_subcommand(
      "prune", "Delete store objects that no ref, reflog entry, index or stash needs");
  pr->add_flag("--dry-run,-n", a->dry_run, "only say what would be deleted");
  auto* grace = pr->add_option("--grace", a->grace,
                               "keep unneeded objects younger than this many minutes (default 60; "
                               "1440 with --remote)");
  auto* remote =
      pr->add_option("--remote", a->remote,
                     "prune the store of this git remote (default: the default remote) instead: "
                     "what none of its refs needs; only for a store no other repository uses")
          ->expected(0, 1);
  auto paths = std::make_shared<std::vector<std::string>>();
  auto* rp = app.add_subcommand(
      "repack",
      "Re-encode stored models against the best base the finder sees now (history unchanged)");
  rp->add_option("paths", *paths, "tracked model files (default: all)");
  rp->add_flag("--dry-run,-n", a->dry_run, "only say what would be re-encoded");
  return {[a] {
            Status s = run(a->minutes);
            if (s && a->prune) {
              s = prune(a->minutes, false);
            }
            return s ? 0 : fail(s.error().context("gc"));
          },
          [a, grace, remote] {
            Status s = remote->count()
                           ? prune_remote(a->remote, grace->count() ? a->grace : 1440, a->dry_run)
                           : prune(a->grace, a->dry_run);
            return s ? 0 : fail(s.error().context("prune"));
          },
          [a, paths] {
            Status s = repack(*paths, a->dry_run);
            return s ? 0 : fail(s.error().context("repack"));
          }};
}

}  // namespace zipllm::cli
