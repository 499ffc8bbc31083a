#include "git/repair.h"

#include <set>

#include "git/base_resolution.h"
#include "ops/ingest.h"

namespace zipllm::git {

namespace {

// Whether the file at `file` still holds object `id` where manifest `m`
// says it is (a tensor, the header or the tail).
bool file_holds(int fd, const std::string& file, const format::Manifest& m, const ObjectId& id) {
  auto matches = [&](uint64_t offset, uint64_t size) {
    auto got = hash_file_range(fd, offset, size, file);
    return got && *got == id;
  };
  if (m.generic) {
    uint64_t at = 0;
    for (const auto& d : m.data) {
      if (d.id == id) {
        return matches(at, d.len);
      }
      at += d.len;
    }
    return false;
  }
  if (m.header_id == id) {
    return matches(8, m.header_len);
  }
  if (m.has_tail && m.tail_id == id) {
    return matches(m.size - m.tail_len, m.tail_len);
  }
  for (const auto& t : m.tensors) {
    if (t.id == id) {
      return matches(8 + m.header_len + t.info.begin, t.info.size());
    }
  }
  return false;
}

}  // namespace

Result<RepairReport> repair_objects(Repo& repo, ModelStore& store, ThreadPool& pool,
                                    const std::vector<ObjectId>& bad_list) {
  RepairReport report;
  std::set<ObjectId> todo(bad_list.begin(), bad_list.end());
  for (const auto& id : todo) {
    TRY_STATUS(store.local->quarantine(id));
  }
  // 1. Model files in the work tree whose bytes still hash to the ids.
  auto wd = repo.workdir();
  if (wd) {
    for (const auto& path : TRY(repo.tracked_paths())) {
      if (todo.empty()) {
        break;
      }
      auto m = stored_manifest(repo, path);
      if (!m || !*m) {
        continue;
      }
      std::vector<ObjectId> here;
      for (const auto& id : format::object_ids(**m)) {
        if (todo.count(id)) {
          here.push_back(id);
        }
      }
      if (here.empty()) {
        continue;
      }
      std::string file = *wd + "/" + path;
      auto fd = open_read(file);
      auto size = fd ? file_size(fd->get(), file) : Result<uint64_t>(fd.error());
      if (!size || *size != (*m)->size) {
        report.notes.push_back(path + ": not in the work tree as committed");
        continue;
      }
      bool all = true;
      for (const auto& id : here) {
        all = all && file_holds(fd->get(), file, **m, id);
      }
      if (!all) {
        report.notes.push_back(path + ": the work tree file has changed since it was added");
        continue;
      }
      // Ingest skips every intact object, so only the quarantined ones are
      // written, coded as a clean of this file would code them.
      auto base = resolve_base(repo, store, pool, path);
      ops::IngestOptions opts;
      opts.allow_generic = (*m)->generic;
      auto got = ops::ingest_file(file, base && *base ? &(*base)->model : nullptr, store.resolver,
                                  *store.local, pool, opts, nullptr);
      if (!got || format::serialize_manifest(*got) != format::serialize_manifest(**m)) {
        report.notes.push_back(path + ": re-encoding failed" +
                               (got ? "" : ": " + got.error().message));
        continue;
      }
      for (const auto& id : here) {
        report.from_work_tree.push_back(id);
        todo.erase(id);
      }
    }
  }
  // 2. The upstream stores, checking what they send.
  if (!todo.empty()) {
    std::vector<ObjectId> want(todo.begin(), todo.end());
    auto opts = remote::default_transfer_options("downloading replacements");
    opts.verify_local = true;
    for (const auto& up : store.source->upstreams()) {
      auto st = remote::download_closure(*up, *store.local, want, opts, /*skip_missing=*/true);
      if (!st) {
        report.notes.push_back(up->url() + ": " + st.error().message);
        continue;
      }
      std::set<ObjectId> missing(st->missing.begin(), st->missing.end());
      for (const auto& id : want) {
        if (!missing.count(id)) {
          report.downloaded.push_back(id);
          todo.erase(id);
        }
      }
      want = std::move(st->missing);
      if (want.empty()) {
        break;
      }
    }
  }
  report.unrepaired.assign(todo.begin(), todo.end());
  return report;
}

}  // namespace zipllm::git
