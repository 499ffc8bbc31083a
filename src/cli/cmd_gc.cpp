// git zipllm gc [--older-than MINUTES]
// Removes what interrupted processes left behind in the store: temp files
// of objects and packs never published (".tmp-" names), filter spools, and
// clean-cache entries whose objects are gone. Published objects are never
// touched: collecting unreferenced objects needs a reachability walk over
// every ref and is not done yet.
#include "cli/commands.h"
#include "format/manifest.h"
#include "git/model_store.h"

#include <cstdio>
#include <filesystem>

namespace zipllm::cli {

namespace {

namespace fs = std::filesystem;

Status run(int older_than_minutes) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open(repo));
  const std::string root = store->local->root();
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::minutes(older_than_minutes);
  size_t removed = 0;
  uint64_t bytes = 0;
  std::error_code ec;
  auto remove = [&](const fs::path& p) {
    uint64_t size = fs::file_size(p, ec);
    if (fs::remove(p, ec)) {
      ++removed;
      bytes += ec ? 0 : size;
    }
  };
  for (const char* dir : {"objects", "packs", "tmp", "bases", "cache"}) {
    for (const auto& e : fs::recursive_directory_iterator(root + "/" + dir, ec)) {
      if (!e.is_regular_file(ec)) {
        continue;
      }
      std::string name = e.path().filename().string();
      bool temp = name.find(".tmp-") != std::string::npos || std::string(dir) == "tmp";
      if (temp && e.last_write_time(ec) < cutoff) {
        remove(e.path());
      }
    }
  }
  // Clean-cache entries that no longer answer (their objects are missing).
  for (const auto& e : fs::directory_iterator(root + "/cache/clean", ec)) {
    bool stale = true;
    if (auto text = read_whole_file(e.path().string(), format::k_max_manifest_size)) {
      if (auto m = format::parse_manifest(std::string(text->begin(), text->end()))) {
        stale = false;
        for (const auto& id : format::object_ids(*m)) {
          stale = stale || !store->resolver.contains(id);
        }
      }
    }
    if (stale) {
      remove(e.path());
    }
  }
  std::printf("git-zipllm gc: removed %zu leftover file(s), %s\n", removed, human_bytes(bytes).c_str());
  return {};
}

}  // namespace

std::vector<Runner> add_gc(CLI::App& app) {
  auto minutes = std::make_shared<int>(60);
  auto* cmd = app.add_subcommand("gc", "Remove leftovers of interrupted processes from the store");
  cmd->add_option("--older-than", *minutes, "only temp files older than this many minutes (default 60)");
  return {[minutes] {
    Status s = run(*minutes);
    return s ? 0 : fail(s.error().context("gc"));
  }};
}

}  // namespace zipllm::cli
