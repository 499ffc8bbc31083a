#include "git/repair.h"

#include <set>

#include "git/base_resolution.h"
#include "git/git_command.h"
#include "ops/ingest.h"
#include "util/file.h"

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

Result<std::string> repair_failed_checkout(Repo& repo) {
  if (!repo.workdir() || repo.index_entry_count() != 0) {
    return std::string();
  }
  // A failed clone leaves no index file at all; an empty one is the user's
  // doing (`git rm -r --cached .`) and stays as it is.
  auto index = TRY(run_git({"rev-parse", "--path-format=absolute", "--git-path", "index"}));
  std::string index_path = index.output.substr(0, index.output.find('\n'));
  if (index.status != 0 || index_path.empty() || path_exists(index_path)) {
    return std::string();
  }
  auto files = TRY(run_git({"ls-tree", "-r", "--name-only", "-z", "HEAD"}));
  if (files.status != 0 || files.output.empty()) {
    return std::string();  // unborn or empty HEAD: an empty index is right
  }
  // The files git did not write before it stopped.
  std::string missing;
  size_t n = 0, absent = 0;
  for (size_t at = 0; at < files.output.size();) {
    size_t end = files.output.find('\0', at);
    if (end == std::string::npos) {
      end = files.output.size();
    }
    std::string path = files.output.substr(at, end - at);
    at = end + 1;
    ++n;
    if (!path_exists(*repo.workdir() + "/" + path)) {
      missing += path + '\0';
      ++absent;
    }
  }
  auto read = TRY(run_git({"read-tree", "HEAD"}));
  if (read.status != 0) {
    return make_error(Errc::IoError, "the index is empty although HEAD has " + std::to_string(n) +
                                         " file(s), and `git read-tree HEAD` failed");
  }
  // Model files come out as their manifests, for the caller to restore.
  auto out = TRY(
      run_git({"checkout-index", "-u", "-z", "--stdin"}, missing, {"GIT_ZIPLLM_SKIP_SMUDGE=1"}));
  if (out.status != 0) {
    return make_error(Errc::IoError,
                      "the index was empty (a clone whose checkout failed?) and was read from "
                      "HEAD, but `git checkout-index` could not write the missing files; run `git "
                      "restore --source=HEAD --staged --worktree :/` once the models' store is "
                      "reachable");
  }
  return "the index was empty although HEAD has " + std::to_string(n) +
         " file(s) (a clone whose checkout failed?): read it from HEAD and wrote the " +
         std::to_string(absent) + " missing file(s); existing ones were kept as they are";
}

std::string unfiltered_manifests_message(const std::vector<std::string>& paths) {
  if (paths.empty()) {
    return {};
  }
  bool all_safetensors = true;
  std::string list;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string& p = paths[i];
    all_safetensors =
        all_safetensors && p.size() > 12 && p.compare(p.size() - 12, 12, ".safetensors") == 0;
    if (i < 5) {
      list += (i ? ", " : "") + p;
    }
  }
  if (paths.size() > 5) {
    list += ", and " + std::to_string(paths.size() - 5) + " more";
  }
  std::string pattern = all_safetensors ? "*.safetensors" : paths[0];
  return std::to_string(paths.size()) +
         " file(s) in the index hold git-zipllm manifests, but no .gitattributes line gives "
         "them filter=zipllm, so git shows the manifest text there (was .gitattributes "
         "committed?): " +
         list + ". Fix: `git zipllm track '" + pattern +
         "'`, `git add .gitattributes`, commit, then `git zipllm checkout`";
}

}  // namespace zipllm::git
