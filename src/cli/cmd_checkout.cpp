// git zipllm checkout [--force] [PATH...]
// Writes tracked model files straight into the work tree (no trip through
// git's in-memory smudge buffer, which needs RAM the size of the file), then
// refreshes the index so `git status` stays clean.
//
// Like git, it never loses work: a file is replaced only when it is
// missing or still a manifest (a placeholder from a clone without
// smudging); a file that already holds the committed bytes is left alone;
// a file that differs from the index (local changes) is reported and kept
// unless --force. Paths that would leave the work tree through a symbolic
// link are refused ("beyond a symbolic link", as git says). Files are
// written under the store's tmp/ and renamed into place when verified, with
// the mode git would give them (umask, executable bit from the index).
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "cli/commands.h"
#include "git/base_resolution.h"
#include "git/git_command.h"
#include "git/install.h"
#include "git/model_store.h"
#include "git/path_filter.h"
#include "git/repair.h"
#include "git/sync.h"
#include "ops/restore.h"
#include "util/progress.h"

namespace zipllm::cli {

namespace {

// Restores at least this large record their index entries directly (the
// index is then written in the second after the last file, which may mean
// waiting up to a second); smaller ones let git re-clean the files.
constexpr uint64_t k_record_directly = 128ull << 20;

struct Args {
  std::vector<std::string> paths;
  bool force = false;
  std::vector<std::string> include, exclude;
};

std::string normalize(std::string p) {
  while (p.rfind("./", 0) == 0) {
    p = p.substr(2);
  }
  while (p.size() > 1 && p.back() == '/') {
    p.pop_back();
  }
  return p;
}

bool matches(const std::string& path, const std::string& wanted) {
  return wanted == "." || path == wanted || path.rfind(wanted + "/", 0) == 0;
}

enum class State {
  Missing,      // nothing at the path
  Placeholder,  // a manifest (GIT_ZIPLLM_SKIP_SMUDGE clone, interrupted checkout)
  UpToDate,     // the committed bytes
  Modified,     // anything else: local work
  Blocked,      // a directory where the file belongs
};

// Refuses a path that leaves the work tree through a symbolic link, and
// creates missing parent folders (as real folders).
Status prepare_parents(const std::string& wd, const std::string& rel) {
  std::string at = wd;
  size_t pos = 0;
  while (true) {
    size_t slash = rel.find('/', pos);
    if (slash == std::string::npos) {
      return {};
    }
    at += "/" + rel.substr(pos, slash - pos);
    pos = slash + 1;
    struct stat st;
    if (::lstat(at.c_str(), &st) != 0) {
      if (errno != ENOENT) {
        return os_error("cannot stat", at, errno);
      }
      if (::mkdir(at.c_str(), 0777) != 0 && errno != EEXIST) {
        return os_error("cannot create directory", at, errno);
      }
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      return make_error(Errc::InvalidArgument, rel + " is beyond a symbolic link (" +
                                                   at.substr(wd.size() + 1) +
                                                   "); not writing through it");
    }
    if (!S_ISDIR(st.st_mode)) {
      return make_error(Errc::InvalidArgument,
                        rel + ": " + at.substr(wd.size() + 1) + " is not a directory");
    }
  }
}

struct Inspected {
  State state = State::Missing;
  std::optional<ObjectId> content_id;  // of an up-to-date file that was read
};

// What is at `file`, compared with the index entry and its manifest. Stat
// data that matches the index (and is not racy) is trusted as git trusts
// it; otherwise the file is read once, hashing both ways.
Result<Inspected> inspect(const std::string& file, const format::Manifest& m,
                          const git::Repo::Entry& e, int64_t index_mtime_ns) {
  Inspected out;
  struct stat st;
  if (::lstat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return out;
    }
    return os_error("cannot stat", file, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    out.state = State::Blocked;
    return out;
  }
  out.state = State::Modified;
  if (!S_ISREG(st.st_mode)) {
    return out;  // a symbolic link or stranger: not ours to replace silently
  }
  auto fd = TRY(open_read(file));
  std::vector<uint8_t> head(format::k_manifest_magic.size());
  if (static_cast<uint64_t>(st.st_size) >= head.size() && read_exact_at(fd.get(), 0, head, file) &&
      format::looks_like_manifest(head)) {
    out.state = State::Placeholder;
    return out;
  }
  if (static_cast<uint64_t>(st.st_size) != m.size) {
    return out;
  }
  int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  int64_t ctime = int64_t(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  if (mtime == e.mtime_ns && ctime == e.ctime_ns && st.st_ino == e.ino &&
      static_cast<uint32_t>(st.st_size) == e.size && index_mtime_ns > 0 && mtime < index_mtime_ns) {
    out.state = State::UpToDate;
    return out;
  }
  Sha256 sha;
  IdHasher id;
  std::vector<uint8_t> buf(8u << 20);
  for (uint64_t off = 0; off < m.size; off += buf.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), m.size - off));
    TRY_STATUS(read_exact_at(fd.get(), off, std::span<uint8_t>(buf.data(), n), file));
    sha.update(std::span<const uint8_t>(buf.data(), n));
    id.update(std::span<const uint8_t>(buf.data(), n));
  }
  if (sha.finish() == m.sha256) {
    out.state = State::UpToDate;
    out.content_id = id.finish();
  }
  return out;
}

Status run(const Args& a) {
  auto repo = TRY(git::Repo::open());
  auto wd = repo.workdir();
  if (!wd) {
    return make_error(Errc::InvalidArgument, "a bare repository has no work tree");
  }
  // Files written here are re-cleaned by git: without the filter it would
  // stage the raw weights.
  if (std::string said = TRY(git::ensure_filter(repo)); !said.empty()) {
    std::fprintf(stderr, "git-zipllm: %s\n", said.c_str());
  }
  if (std::string said = TRY(git::repair_failed_checkout(repo)); !said.empty()) {
    std::fprintf(stderr, "git-zipllm: %s\n", said.c_str());
  }
  auto store = TRY(git::ModelStore::open(repo));
  ThreadPool pool(ThreadPool::default_threads());
  const int64_t index_mtime = repo.index_mtime_ns();
  std::vector<std::string> wanted;
  for (const auto& p : a.paths) {
    wanted.push_back(normalize(p));
  }
  std::vector<bool> wanted_hit(wanted.size(), false);
  const git::PathFilter filter = git::PathFilter::from(repo, a.include, a.exclude);
  size_t filtered_out = 0;
  struct Todo {
    std::string path;
    format::Manifest m;
    uint32_t mode;
    std::string blob;
  };
  std::vector<Todo> todo;
  std::vector<std::pair<std::string, format::Manifest>> in_place;  // up to date or not selected
  std::vector<std::string> kept, problems;
  for (const auto& e : TRY(repo.tracked_entries())) {
    // Not a manifest: stored before the filter, git's own checkout handles
    // it. A damaged manifest is an error naming the file.
    auto m = TRY(git::index_manifest(repo, e.path));
    if (!m) {
      continue;
    }
    bool chosen = wanted.empty();
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (matches(e.path, wanted[i])) {
        chosen = true;
        wanted_hit[i] = true;
      }
    }
    std::string file = *wd + "/" + e.path;
    Inspected got = TRY(inspect(file, *m, e, index_mtime));
    if (chosen && !filter.allows(e.path)) {
      chosen = false;
      filtered_out += got.state == State::Missing || got.state == State::Placeholder;
    }
    if (got.content_id) {
      // The index refresh below re-cleans it: make that a cache hit.
      git::clean_cache_store(*store, *got.content_id, format::serialize_manifest(*m));
    }
    bool restore = chosen && (got.state == State::Missing || got.state == State::Placeholder ||
                              (a.force && got.state == State::Modified));
    if (chosen && got.state == State::Modified && !a.force) {
      kept.push_back(e.path);
    }
    if (chosen && got.state == State::Blocked) {
      problems.push_back(e.path + ": a directory is in the way");
      continue;
    }
    if (restore) {
      todo.push_back(Todo{e.path, std::move(*m), e.mode, e.blob});
    } else if (got.state == State::UpToDate) {
      in_place.emplace_back(e.path, std::move(*m));
    }
  }
  // Manifests git will never smudge: restoring them would let the next
  // `git add` commit the raw weights.
  const std::string unfiltered =
      git::unfiltered_manifests_message(TRY(repo.unfiltered_manifests()));
  for (size_t i = 0; i < wanted.size(); ++i) {
    if (!wanted_hit[i]) {
      return make_error(Errc::NotFound,
                        "'" + a.paths[i] + "' did not match any tracked model file");
    }
  }
  // Everything missing locally comes down first, in parallel.
  std::vector<format::Manifest> manifests;
  for (const auto& t : todo) {
    manifests.push_back(t.m);
  }
  if (!manifests.empty() && !store->source->upstreams().empty()) {
    auto st =
        git::prefetch(*store, manifests, remote::default_transfer_options("downloading objects"));
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
          t.id, store::RawTensor{shared, 8 + m.header_len + t.info.begin, t.info.size(),
                                 t.info.dtype, file + ": tensor '" + t.info.name + "'"});
    }
  };
  for (const auto& [p, m] : in_place) {
    offer(p, m);
  }
  const std::string tmp_dir = store->local->root() + "/tmp";
  TRY_STATUS(make_dirs(tmp_dir));
  // Several files at once (as many as there are cores): a restore ends with
  // the file's SHA-256, which is sequential and, for files that decode fast
  // (shards stored whole), what it mostly waits on. Each restore still
  // spreads its chunks over the pool.
  std::vector<Status> outcome(todo.size());
  std::vector<bool> ready(todo.size(), false);
  for (size_t i = 0; i < todo.size(); ++i) {
    if (Status s = prepare_parents(*wd, todo[i].path); !s) {
      problems.push_back(s.error().message);
    } else {
      ready[i] = true;
    }
  }
  const size_t runners =
      std::min<size_t>(todo.size(), std::max<unsigned>(1, ThreadPool::default_threads()));
  uint64_t total_bytes = 0;
  for (const auto& t : todo) {
    total_bytes += t.m.size;
  }
  std::mutex mu;                     // the shared progress line, messages, the clean cache
  std::optional<Progress> together;  // one line for all, when files go at once
  if (runners > 1) {
    std::fprintf(stderr, "git-zipllm: restoring %zu files (%s), %zu at a time\n", todo.size(),
                 human_bytes(total_bytes).c_str(), runners);
    together.emplace("checkout", total_bytes);
  }
  // Every file restored is dated when the checkout began (see
  // RestoreOptions::mtime): recording the index entries then waits for the
  // next second only if the whole checkout took less than one.
  timespec began{};
  ::clock_gettime(CLOCK_REALTIME, &began);
  std::vector<uint64_t> done_of(todo.size(), 0);
  uint64_t done_all = 0;
  size_t files_done = 0;
  auto restore_one = [&](size_t i) -> Status {
    const Todo& t = todo[i];
    const std::string target = *wd + "/" + t.path;
    {
      std::lock_guard lock(mu);
      if (!together) {
        std::fprintf(stderr, "git-zipllm: restoring %s (%s)\n", t.path.c_str(),
                     human_bytes(t.m.size).c_str());
      }
    }
    std::optional<Progress> own;
    if (!together) {
      own.emplace(t.path, t.m.size);
    }
    ops::RestoreOptions opts;
    // The restores share what one alone may hold: 128 MiB of chunks in
    // flight and 128 chunks (open objects), at least 16 MiB and 8 each.
    opts.max_inflight = std::max<uint64_t>(16u << 20, (128u << 20) / runners);
    opts.max_pending_chunks = std::max<size_t>(8, 128 / runners);
    opts.on_progress = [&](uint64_t done) {
      if (own) {
        own->update(done);
        return;
      }
      std::lock_guard lock(mu);
      done_all += done - done_of[i];
      done_of[i] = done;
      together->update(done_all, files_done, todo.size(), "files");
    };
    opts.mode = ((t.mode & 0111) ? 0777u : 0666u) & ~process_umask();
    opts.tmp_dir = tmp_dir;
    opts.mtime = began;
    ObjectId content_id;
    opts.content_id = &content_id;
    TRY_STATUS(ops::restore_file(t.m, store->resolver, target, pool, opts));
    std::lock_guard lock(mu);
    ++files_done;
    // The index refresh below re-cleans the file: make that a cache hit.
    git::clean_cache_store(*store, content_id, format::serialize_manifest(t.m));
    return {};
  };
  // A file whose tensors are coded against another's (a fine-tune and its
  // base checked out together) waits for that one: restored and offered
  // first, its tensors are read from the work tree instead of decoded a
  // second time.
  std::vector<std::vector<size_t>> needs(todo.size());
  if (runners > 1) {
    std::unordered_map<ObjectId, size_t, ObjectIdHash> file_of;
    for (size_t i = 0; i < todo.size(); ++i) {
      for (const auto& t : todo[i].m.tensors) {
        file_of.emplace(t.id, i);
      }
    }
    for (size_t i = 0; i < todo.size(); ++i) {
      for (const auto& t : todo[i].m.tensors) {
        auto r = store->resolver.open(t.id);
        if (!r || !r->header().has_base()) {
          continue;
        }
        auto it = file_of.find(r->header().base_id);
        if (it != file_of.end() && it->second != i &&
            std::find(needs[i].begin(), needs[i].end(), it->second) == needs[i].end()) {
          needs[i].push_back(it->second);
        }
      }
    }
  }
  enum class Run { Waiting, Running, Done };
  std::vector<Run> run(todo.size(), Run::Waiting);
  for (size_t i = 0; i < todo.size(); ++i) {
    if (!ready[i]) {
      run[i] = Run::Done;
    }
  }
  std::condition_variable changed;
  // The next file whose bases are done; none left: nullopt. With files
  // waiting on each other and none running (a cycle), the first waiting.
  auto pick = [&]() -> std::optional<size_t> {
    std::unique_lock lock(mu);
    for (;;) {
      std::optional<size_t> first_waiting;
      bool running = false;
      for (size_t i = 0; i < todo.size(); ++i) {
        running |= run[i] == Run::Running;
        if (run[i] != Run::Waiting) {
          continue;
        }
        first_waiting = first_waiting.value_or(i);
        if (std::all_of(needs[i].begin(), needs[i].end(),
                        [&](size_t j) { return run[j] == Run::Done; })) {
          run[i] = Run::Running;
          return i;
        }
      }
      if (!first_waiting) {
        return std::nullopt;
      }
      if (!running) {
        run[*first_waiting] = Run::Running;
        return first_waiting;
      }
      changed.wait(lock);
    }
  };
  auto runner = [&] {
    while (auto i = pick()) {
      outcome[*i] = restore_one(*i);
      if (outcome[*i]) {
        // Later files may read its tensors instead of decoding them.
        offer(todo[*i].path, todo[*i].m);
      }
      {
        std::lock_guard lock(mu);
        run[*i] = Run::Done;
      }
      changed.notify_all();
    }
  };
  {
    std::vector<std::thread> threads;
    for (size_t k = 1; k < runners; ++k) {
      threads.emplace_back(runner);
    }
    runner();
    for (auto& th : threads) {
      th.join();
    }
  }
  together.reset();
  std::vector<git::Repo::WrittenFile> written;
  uint64_t written_bytes = 0;
  size_t restored = 0, failed = 0;
  for (size_t i = 0; i < todo.size(); ++i) {
    if (!ready[i]) {
      continue;
    }
    if (!outcome[i]) {
      std::fprintf(stderr, "git-zipllm: error: %s: %s\n", todo[i].path.c_str(),
                   outcome[i].error().message.c_str());
      ++failed;
      continue;
    }
    ++restored;
    written.push_back({todo[i].path, todo[i].blob});
    written_bytes += todo[i].m.size;
  }
  // git would re-clean (read through the filter) every file just written
  // to refresh its index entry: a third of a large checkout. The entries
  // get the files' stat data directly instead; small checkouts, and what
  // that cannot record, go through git.
  std::vector<std::string> to_refresh;
  if (written_bytes >= k_record_directly) {
    to_refresh = TRY(repo.record_written(written));
  } else {
    for (const auto& w : written) {
      to_refresh.push_back(w.path);
    }
  }
  if (!to_refresh.empty()) {
    std::string list;
    for (const auto& p : to_refresh) {
      list += p + "\n";
    }
    auto r = TRY(git::run_git({"update-index", "-q", "--refresh", "--stdin"}, list));
    (void)r;  // exit status 1 only means "needs update" for paths we did not touch
  }
  std::printf("git-zipllm checkout: %zu file(s) restored%s\n", restored,
              failed ? (", " + std::to_string(failed) + " failed").c_str() : "");
  if (filtered_out) {
    std::printf("git-zipllm checkout: %zu file(s) left as placeholders (%s)\n", filtered_out,
                filter.describe().c_str());
  }
  for (const auto& p : problems) {
    std::fprintf(stderr, "git-zipllm: error: %s\n", p.c_str());
  }
  if (!kept.empty()) {
    std::fprintf(stderr,
                 "git-zipllm: these files differ from the index (local changes) and were not "
                 "overwritten:\n");
    for (size_t i = 0; i < kept.size() && i < 20; ++i) {
      std::fprintf(stderr, "\t%s\n", kept[i].c_str());
    }
    if (kept.size() > 20) {
      std::fprintf(stderr, "\t... and %zu more\n", kept.size() - 20);
    }
    return make_error(Errc::InvalidArgument,
                      std::to_string(kept.size()) +
                          " file(s) with local changes kept; commit or stash them, "
                          "or `git zipllm checkout --force` to overwrite them");
  }
  if (failed || !problems.empty()) {
    return make_error(Errc::NotFound,
                      std::to_string(failed + problems.size()) + " file(s) could not be restored");
  }
  if (!unfiltered.empty()) {
    return make_error(Errc::InvalidArgument, unfiltered);
  }
  return {};
}

}  // namespace

void add_path_filter(CLI::App* cmd, std::vector<std::string>& include,
                     std::vector<std::string>& exclude) {
  cmd->add_option("-I,--include", include,
                  "only model files matching these globs (comma-separated; default "
                  "zipllm.fetchinclude)");
  cmd->add_option("-X,--exclude", exclude,
                  "not model files matching these globs (comma-separated; default "
                  "zipllm.fetchexclude)");
}

int run_checkout(const std::vector<std::string>& paths, bool force,
                 const std::vector<std::string>& include, const std::vector<std::string>& exclude) {
  Args a;
  a.paths = paths;
  a.force = force;
  a.include = include;
  a.exclude = exclude;
  Status s = run(a);
  return s ? 0 : fail(s.error().context("checkout"));
}

std::vector<Runner> add_checkout(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("checkout", "Write tracked model files straight to the work tree");
  cmd->add_option("paths", a->paths, "files or folders (default: all tracked)");
  cmd->add_flag("--force", a->force, "also overwrite files with local changes");
  add_path_filter(cmd, a->include, a->exclude);
  return {[a] { return run_checkout(a->paths, a->force, a->include, a->exclude); }};
}

}  // namespace zipllm::cli
