// The clean and smudge transforms of the git filter, and the long-running
// filter-process protocol that carries them.
//
// clean:  safetensors bytes -> manifest (objects written to the store first,
//         durably, so a manifest never points at missing data). A manifest
//         given to clean comes back unchanged.
// smudge: manifest -> the exact file (restored to a temp file and verified
//         before the first byte goes to git). Content that is not a manifest
//         (a file committed before the filter) comes back unchanged, as does
//         everything when GIT_ZIPLLM_SKIP_SMUDGE=1.
// One bad file fails only itself (status=error); the process keeps serving.
// stdout carries only pkt-lines; messages go to stderr.
#pragma once

#include "git/base_choice.h"
#include "git/model_store.h"
#include "git/repo.h"
#include "util/thread_pool.h"

namespace zipllm::git {

class Filter {
 public:
  explicit Filter(ThreadPool& pool) : m_pool(pool) {}
  // A filter whose objects go to a scratch store at `store_root` instead
  // of the repository's (and that fetches nothing): a dry run's.
  Filter(ThreadPool& pool, std::string store_root)
      : m_pool(pool), m_scratch_root(std::move(store_root)) {}

  // `content` holds what git sent; the manifest goes to `out`. `content_id`
  // (XXH3-128 of the content, computed while it arrived) keys a cache of
  // earlier cleans: git re-cleans unchanged files on status, commit and
  // branch switches, and a hit answers without parsing or SHA-256.
  Status clean(const std::string& path, const TempFile& content, std::string& out,
               const std::optional<ObjectId>& content_id = std::nullopt);

  // Receiving content to clean without writing it anywhere when it is the
  // work tree file (it nearly always is: git re-cleans unchanged files on
  // status, commit and branch switches). Each block is compared with the
  // file at the same offset; on the first difference the file's matching
  // prefix is copied into a spool and the rest of the stream follows it.
  // A cache hit then costs reading the file once, not writing a copy. The
  // copied prefix may differ from what was compared if the file changes
  // meanwhile: ingest re-checks the spool against the stream's id, so the
  // manifest always describes the bytes git sent (or the clean fails).
  class Receiver {
   public:
    Receiver(Filter& f, std::string path) : m_filter(f), m_path(std::move(path)) {}
    Status feed(ByteView block);
    // Cleans what was received into `out`.
    Status finish(std::string& out);

   private:
    Status to_spool();
    Filter& m_filter;
    std::string m_path;
    bool m_started = false;
    std::optional<Fd> m_file;  // the work tree file, while equal so far
    uint64_t m_file_size = 0;
    std::optional<TempFile> m_spool;  // once they differ (or no file)
    uint64_t m_offset = 0;
    IdHasher m_hasher;
    std::vector<uint8_t> m_cmp;
  };
  // On success either `passthrough` is true (send `content` back as is) or
  // `restored` holds the file.
  struct SmudgeResult {
    bool passthrough = false;
    std::optional<TempFile> restored;
  };
  // Thread-safe once tmp_dir() has succeeded (the store is open).
  Result<SmudgeResult> smudge(const std::string& path, const TempFile& content);
  // Whether smudge would restore (not pass through) this content.
  bool is_manifest(const TempFile& content);
  // Downloads, in parallel, every object the manifests in `contents` need
  // and the local store lacks (a delayed checkout of many files), before
  // their smudges run. Non-manifests are skipped.
  Status prefetch(const std::vector<const TempFile*>& contents);
  // Where spool files go (the store's tmp folder).
  Result<std::string> tmp_dir();

 private:
  Status ensure_open();
  ThreadPool& m_pool;
  std::string m_scratch_root;
  std::optional<Repo> m_repo;
  std::unique_ptr<ModelStore> m_store;
  std::optional<BaseChooser> m_chooser;  // remembers what this process stored
};

// Runs the filter-process protocol on stdin/stdout until git closes stdin.
int run_filter_process(ThreadPool& pool);
// One-shot clean or smudge (filter.zipllm.clean / .smudge): stdin -> stdout.
int run_filter_once(ThreadPool& pool, bool clean, const std::string& path);

}  // namespace zipllm::git
