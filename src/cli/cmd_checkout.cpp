// git zipllm checkout [--force] [PATH...]
// Writes tracked model files straight into the work tree (no trip through
// git's in-memory smudge buffer, which needs RAM the size of the file), then
// refreshes the index so `git status` stays clean. Restores files that are
// missing, hold a manifest (GIT_ZIPLLM_SKIP_SMUDGE=1 clones) or have the
// wrong size; --force restores all.
#include "cli/commands.h"
#include "util/progress.h"
#include "git/base_resolution.h"
#include "git/git_command.h"
#include "git/model_store.h"
#include "git/sync.h"
#include "ops/restore.h"

#include <sys/stat.h>

#include <cstdio>

namespace zipllm::cli {

namespace {

struct Args {
  std::vector<std::string> paths;
  bool force = false;
};

bool selected(const std::string& path, const std::vector<std::string>& wanted) {
  if (wanted.empty()) {
    return true;
  }
  for (const auto& w : wanted) {
    std::string p = w;
    while (p.rfind("./", 0) == 0) {
      p = p.substr(2);
    }
    if (path == p || (path.rfind(p + "/", 0) == 0)) {
      return true;
    }
  }
  return false;
}

bool needs_restore(const std::string& file, const format::Manifest& m) {
  struct stat st;
  if (::stat(file.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) != m.size) {
    return true;
  }
  auto fd = open_read(file);
  if (!fd) {
    return true;
  }
  std::vector<uint8_t> head(format::k_manifest_magic.size());
  return read_exact_at(fd->get(), 0, head, file) && format::looks_like_manifest(head);
}

Status run(const Args& a) {
  auto repo = TRY(git::Repo::open());
  auto wd = repo.workdir();
  if (!wd) {
    return make_error(Errc::InvalidArgument, "a bare repository has no work tree");
  }
  auto store = TRY(git::ModelStore::open(repo));
  ThreadPool pool(ThreadPool::default_threads());
  auto paths = TRY(repo.tracked_paths());
  std::vector<std::pair<std::string, format::Manifest>> todo;
  std::vector<std::pair<std::string, format::Manifest>> in_place;  // up to date or not selected
  for (const auto& p : paths) {
    // Not a manifest: stored before the filter, git's own checkout handles
    // it. A damaged manifest is an error naming the file.
    auto m = TRY(git::index_manifest(repo, p));
    if (!m) {
      continue;
    }
    if (selected(p, a.paths) && (a.force || needs_restore(*wd + "/" + p, *m))) {
      todo.emplace_back(p, std::move(*m));
    } else {
      in_place.emplace_back(p, std::move(*m));
    }
  }
  // Everything missing locally comes down first, in parallel.
  std::vector<format::Manifest> manifests;
  for (const auto& [p, m] : todo) {
    manifests.push_back(m);
  }
  if (!manifests.empty() && !store->source->upstreams().empty()) {
    auto st = git::prefetch(*store, manifests, remote::default_transfer_options("downloading objects"));
    if (!st) {
      return std::move(st).error();
    }
    if (st->objects) {
      std::fprintf(stderr, "git-zipllm: downloaded %llu object(s) (%s)\n",
                   static_cast<unsigned long long>(st->objects), human_bytes(st->bytes).c_str());
    }
  }
  // Model files already in the work tree hold raw tensors that restores can
  // read instead of decoding them (a fine-tune's base, shared tensors); so
  // do the files restored below, for the ones after them.
  auto offer = [&](const std::string& p, const format::Manifest& m) {
    std::string file = *wd + "/" + p;
    auto fd = open_read(file);
    if (!fd || m.generic) {
      return;
    }
    auto size = file_size(fd->get(), file);
    if (!size || *size != m.size) {
      return;
    }
    auto shared = std::make_shared<const Fd>(std::move(*fd));
    for (const auto& t : m.tensors) {
      store->resolver.add_raw_candidate(
          t.id, store::RawTensor{shared, 8 + m.header_len + t.info.begin, t.info.size(), t.info.dtype,
                                 file + ": tensor '" + t.info.name + "'"});
    }
  };
  for (const auto& [p, m] : in_place) {
    offer(p, m);
  }
  std::string refreshed;
  size_t restored = 0, failed = 0;
  for (const auto& [p, m] : todo) {
    std::string target = *wd + "/" + p;
    std::fprintf(stderr, "git-zipllm: restoring %s (%s)\n", p.c_str(), human_bytes(m.size).c_str());
    Status s;
    {
      Progress progress(p, m.size);
      ops::RestoreOptions opts;
      opts.on_progress = [&](uint64_t done) { progress.update(done); };
      ObjectId content_id;
      opts.content_id = &content_id;
      s = ops::restore_file(m, store->resolver, target, pool, opts);
      if (s) {
        // The index refresh below re-cleans the file: make that a cache hit.
        git::clean_cache_store(*store, content_id, format::serialize_manifest(m));
      }
    }
    if (!s) {
      std::fprintf(stderr, "git-zipllm: error: %s: %s\n", p.c_str(), s.error().message.c_str());
      ++failed;
      continue;
    }
    ++restored;
    refreshed += p + "\n";
    offer(p, m);
  }
  if (!refreshed.empty()) {
    auto r = TRY(git::run_git({"update-index", "-q", "--refresh", "--stdin"}, refreshed));
    (void)r;  // exit status 1 only means "needs update" for paths we did not touch
  }
  std::printf("git-zipllm checkout: %zu file(s) restored%s\n", restored,
              failed ? (", " + std::to_string(failed) + " failed").c_str() : "");
  if (failed) {
    return make_error(Errc::NotFound, std::to_string(failed) + " file(s) could not be restored");
  }
  return {};
}

}  // namespace

int run_checkout(const std::vector<std::string>& paths, bool force) {
  Args a;
  a.paths = paths;
  a.force = force;
  Status s = run(a);
  return s ? 0 : fail(s.error().context("checkout"));
}

std::vector<Runner> add_checkout(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("checkout", "Write tracked model files straight to the work tree");
  cmd->add_option("paths", a->paths, "files or folders (default: all tracked)");
  cmd->add_flag("--force", a->force, "restore even files that look up to date");
  return {[a] { return run_checkout(a->paths, a->force); }};
}

}  // namespace zipllm::cli
