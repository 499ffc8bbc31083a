#include "git/repack.h"

#include <unistd.h>

#include <set>
#include <sstream>
#include <unordered_set>

#include "git/base_choice.h"
#include "git/git_command.h"
#include "ops/ingest.h"
#include "ops/restore.h"
#include "store/object_io.h"
#include "store/staging_sink.h"

namespace zipllm::git {

namespace {

// Tracked paths in the order they first appeared in HEAD's history; paths
// only in the index come last, sorted.
Result<std::vector<std::string>> history_order(const std::vector<std::string>& tracked) {
  std::vector<std::string> out;
  std::set<std::string> want(tracked.begin(), tracked.end()), seen;
  auto log = run_git({"log", "--reverse", "--format=", "--name-only", "--no-renames",
                      "--diff-filter=A", "HEAD", "--"});
  if (log && log->status == 0) {
    std::istringstream in(log->output);
    std::string line;
    while (std::getline(in, line)) {
      if (want.count(line) && seen.insert(line).second) {
        out.push_back(line);
      }
    }
  }
  for (const auto& p : want) {  // sorted
    if (!seen.count(p)) {
      out.push_back(p);
    }
  }
  return out;
}

struct Encoding {
  uint64_t size = 0;
  uint8_t depth = 0;
  ObjectId base;
};

Result<Encoding> encoding_at(const store::ObjectLocation& loc, const ObjectId& id) {
  auto r = TRY(store::ObjectReader::open(loc, id));
  return Encoding{loc.length, r.header().depth, r.header().base_id};
}

Result<Encoding> staged_encoding(const std::string& file, const ObjectId& id) {
  Fd fd = TRY(open_read(file));
  uint64_t size = TRY(file_size(fd.get(), file));
  store::ObjectLocation loc{std::make_shared<const Fd>(std::move(fd)), 0, size, file};
  return encoding_at(loc, id);
}

}  // namespace

Result<RepackReport> repack(Repo& repo, ModelStore& store, ThreadPool& pool,
                            const RepackOptions& opts) {
  RepackReport rep;
  auto tracked = TRY(repo.tracked_paths());
  if (!opts.paths.empty()) {
    std::set<std::string> known(tracked.begin(), tracked.end());
    for (const auto& p : opts.paths) {
      if (!known.count(p)) {
        return make_error(Errc::NotFound, p + " is not a tracked model file");
      }
    }
  }
  auto order = TRY(history_order(tracked));
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < order.size(); ++i) {
    position.emplace(order[i], i);
    position.emplace(candidate_name(order[i]), i);  // a sharded model: its first shard
  }
  // Which objects other objects are coded against (their depth must not grow).
  std::unordered_set<ObjectId, ObjectIdHash> used_as_base;
  for (const auto& id : store.local->list_ids()) {
    auto loc = store.local->locate(id);
    if (loc && *loc) {
      if (auto e = encoding_at(**loc, id); e && e->depth > 0) {
        used_as_base.insert(e->base);
      }
    }
  }
  BaseChooser chooser(repo, store, pool);
  size_t current = 0;
  chooser.set_candidate_filter([&](const std::string& name) {
    if (name.rfind("HEAD:", 0) == 0) {
      return false;  // the file itself, as committed
    }
    auto it = position.find(name);
    return it == position.end()
               ? name.rfind("registered base ", 0) == 0 || name.rfind("LFS object ", 0) == 0
               : it->second < current;
  });
  const std::string tmp = store.local->root() + "/tmp";
  std::set<std::string> only(opts.paths.begin(), opts.paths.end());
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string& path = order[i];
    current = i;
    if (!only.empty() && !only.count(path)) {
      continue;
    }
    auto m = TRY(stored_manifest(repo, path));
    if (!m || m->generic) {
      continue;
    }
    RepackedFile f;
    f.path = path;
    // The file as stored, restored to a temp file (verified by SHA-256).
    std::string restored =
        tmp + "/repack-" + std::to_string(::getpid()) + "-" + std::to_string(i) + ".safetensors";
    ops::RestoreOptions ropts;
    ropts.tmp_dir = tmp;
    TRY_STATUS_CTX(ops::restore_file(*m, store.resolver, restored, pool, ropts), path);
    struct Cleanup {
      std::string p;
      ~Cleanup() { ::unlink(p.c_str()); }
    } cleanup{restored};
    auto choice = TRY_CTX(chooser.choose(path, restored, AutoBase::On), path);
    if (!choice.base) {
      rep.files.push_back(f);
      continue;
    }
    f.base = choice.base->origin;
    auto staging = TRY(store::StagingSink::open(tmp + "/repack-" + std::to_string(::getpid()) +
                                                "-" + std::to_string(i) + ".staged"));
    auto again = TRY_CTX(ops::ingest_file(restored, &choice.base->model, store.resolver, *staging,
                                          pool, ops::IngestOptions{}, nullptr),
                         path);
    if (format::serialize_manifest(again) != format::serialize_manifest(*m)) {
      return make_error(Errc::Internal, path +
                                            ": encoding the restored file again gave another "
                                            "manifest; nothing of it was replaced");
    }
    std::map<ObjectId, std::string> chosen;
    std::vector<ObjectId> new_bases;
    for (const auto& [id, file] : staging->written()) {
      auto loc = TRY(store.local->locate(id));
      if (!loc) {
        continue;  // not in this store (fetched on demand): nothing to replace
      }
      Encoding old = TRY(encoding_at(*loc, id));
      Encoding now = TRY(staged_encoding(file, id));
      if (now.size >= old.size || (now.depth > old.depth && used_as_base.count(id))) {
        continue;
      }
      chosen.emplace(id, file);
      f.before += old.size;
      f.after += now.size;
      if (now.depth > 0) {
        new_bases.push_back(now.base);
      }
    }
    if (!opts.dry_run && !chosen.empty()) {
      TRY_STATUS_CTX(store.local->replace_encodings(chosen), path);
      record_choice(store, *m, choice);
    }
    used_as_base.insert(new_bases.begin(), new_bases.end());
    f.replaced = chosen.size();
    rep.before += f.before;
    rep.after += f.after;
    rep.replaced += f.replaced;
    rep.files.push_back(f);
  }
  return rep;
}

}  // namespace zipllm::git
