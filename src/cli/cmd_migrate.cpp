// git zipllm migrate import [REF...] [--everything] [-I GLOB] [-X GLOB]
// git zipllm migrate info   [REF...] [--everything] [-I GLOB] [-X GLOB]
// History written before git-zipllm rewritten so that model files (plain
// blobs or Git LFS pointers) are manifests (git/migrate.h); `info` does
// the same work into a scratch store and says what import would save,
// changing nothing.
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "git/filter.h"
#include "git/install.h"
#include "git/migrate.h"
#include "git/model_store.h"
#include "git/path_filter.h"
#include "util/thread_pool.h"

namespace zipllm::cli {

namespace {

struct Args {
  std::vector<std::string> refs, include, exclude;
  bool everything = false;
};

// Bytes of objects and packs under a store root.
uint64_t stored_bytes(const std::string& root) {
  uint64_t total = 0;
  for (const char* dir : {"/objects", "/packs"}) {
    for (const auto& p : list_files_recursive(root + dir)) {
      std::error_code ec;
      uint64_t n = std::filesystem::file_size(p, ec);
      total += ec ? 0 : n;
    }
  }
  return total;
}

std::string ratio(uint64_t part, uint64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", whole ? static_cast<double>(part) / whole : 0.0);
  return buf;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) {
    s += (s.empty() ? "" : ", ") + x;
  }
  return s;
}

git::MigrateOptions options_of(const Args& a, bool dry_run) {
  git::MigrateOptions o;
  o.refs = a.refs;
  o.everything = a.everything;
  o.paths.include = git::split_patterns(a.include);
  if (o.paths.include.empty()) {
    o.paths.include.push_back("*.safetensors");
  }
  o.paths.exclude = git::split_patterns(a.exclude);
  o.dry_run = dry_run;
  return o;
}

void print_files(const git::MigrateReport& r) {
  std::printf("  model files:  %zu distinct version%s (%s)", r.files, r.files == 1 ? "" : "s",
              human_bytes(r.raw_bytes).c_str());
  if (r.lfs_pointers) {
    std::printf(", %zu of them Git LFS objects", r.lfs_pointers);
  }
  if (r.already) {
    std::printf("; %zu already manifests", r.already);
  }
  std::printf("\n");
}

Status info(const Args& a) {
  auto repo = TRY(git::Repo::open());
  std::string scratch =
      git::local_store_root(repo) + "/tmp/migrate-info-" + std::to_string(::getpid());
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{scratch};
  TRY_STATUS(make_dirs(scratch));
  ThreadPool pool(ThreadPool::default_threads());
  git::Filter filter(pool, scratch);
  auto r = TRY(git::migrate(repo, filter, options_of(a, true)));
  uint64_t store = stored_bytes(scratch);
  std::printf("migrate info (nothing was changed): %s\n", joined(r.refs).c_str());
  if (r.files == 0) {
    std::printf("  nothing to rewrite in %zu commits: %zu model file(s) are manifests already\n",
                r.commits, r.already);
    if (r.already == 0) {
      std::printf("  no file in these commits matches %s\n",
                  options_of(a, true).paths.describe().c_str());
    }
    return {};
  }
  std::printf("  commits:      %zu, %zu would be rewritten\n", r.commits, r.commits_changed);
  print_files(r);
  std::printf("  in git now:   %s on disk (%s)\n", human_bytes(r.git_disk_bytes).c_str(),
              r.lfs_pointers ? "git's objects and .git/lfs/objects" : "git's compressed objects");
  std::printf("  after import: %s in the zipllm store + %s of manifests in git = %s× of now\n",
              human_bytes(store).c_str(), human_bytes(r.manifest_bytes).c_str(),
              ratio(store + r.manifest_bytes, r.git_disk_bytes).c_str());
  return {};
}

Status import(const Args& a) {
  auto repo = TRY(git::Repo::open());
  if (std::string note = TRY(git::ensure_filter(repo)); !note.empty()) {
    std::fprintf(stderr, "git-zipllm: %s\n", note.c_str());
  }
  uint64_t before = stored_bytes(git::local_store_root(repo));
  ThreadPool pool(ThreadPool::default_threads());
  git::Filter filter(pool);
  auto r = TRY(git::migrate(repo, filter, options_of(a, false)));
  uint64_t after = stored_bytes(git::local_store_root(repo));
  if (r.rewritten.empty()) {
    std::printf(
        "migrate import: nothing to rewrite in %s (%zu commits, %zu model files already "
        "manifests)\n",
        joined(r.refs).c_str(), r.commits, r.already);
    return {};
  }
  std::printf("migrate import: rewrote %zu of %zu commits; moved %s\n", r.commits_changed,
              r.commits, joined(r.rewritten).c_str());
  print_files(r);
  uint64_t grew = after > before ? after - before : 0;
  std::printf(
      "  now:          %s more in the zipllm store + %s of manifests in git = %s× of the "
      "%s git held for them\n",
      human_bytes(grew).c_str(), human_bytes(r.manifest_bytes).c_str(),
      ratio(grew + r.manifest_bytes, r.git_disk_bytes).c_str(),
      human_bytes(r.git_disk_bytes).c_str());
  std::printf(
      "The old commits stay in .git until the reflog lets them go. To reclaim their space now:\n"
      "  git reflog expire --expire-unreachable=now --all && git gc --prune=now\n"
      "Branches that were pushed before need `git push --force` (and collaborators a fresh "
      "clone or `git reset --hard` onto the new history).\n");
  return {};
}

}  // namespace

std::vector<Runner> add_migrate(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "migrate",
      "Rewrite history so model files committed before (blobs, LFS pointers) are "
      "manifests");
  cmd->require_subcommand(1);
  auto* imp = cmd->add_subcommand(
      "import", "Rewrite the current branch (or REFs, or --everything) with manifests");
  auto* inf = cmd->add_subcommand(
      "info", "Say what import would rewrite and save, changing nothing (a dry run)");
  for (auto* sub : {imp, inf}) {
    sub->add_option("refs", a->refs, "branches or tags (default: the current branch)");
    sub->add_flag("--everything", a->everything, "every local branch and tag");
    sub->add_option("-I,--include", a->include,
                    "files matching these globs (comma-separated; default *.safetensors)");
    sub->add_option("-X,--exclude", a->exclude, "not files matching these globs (comma-separated)");
  }
  return {[a, imp] {
    if (a->everything && !a->refs.empty()) {
      return fail(
          make_error(Errc::InvalidArgument, "migrate: give refs or --everything, not both"));
    }
    Status s = imp->parsed() ? import(*a) : info(*a);
    return s ? 0 : fail(s.error().context(imp->parsed() ? "migrate import" : "migrate info"));
  }};
}

}  // namespace zipllm::cli
