// Restore: a manifest -> the exact original file, written atomically.
//
// Chunks are decoded in parallel and written in order; every encoded chunk
// is checked against its checksum as it is read, and the whole file against
// the manifest's size and SHA-256 before it is renamed into place. The
// SHA-256 covers every tensor, so objects are not re-hashed against their
// ids on the way (that pass cost ~0.5 s of a 2 GiB restore's critical path);
// when it fails, the tensors are, to name the object at fault. On any error nothing appears at
// `out_path` (an existing file there is left untouched). Memory is bounded by `max_inflight`
// decoded bytes. Errors do not name `out_path` (often a temp file); callers add context.
#pragma once

#include <ctime>
#include <functional>
#include <optional>

#include "format/manifest.h"
#include "store/resolver.h"
#include "util/thread_pool.h"

namespace zipllm::ops {

struct RestoreOptions {
  uint64_t max_inflight = 64u << 20;
  // Chunks in flight at most, whatever their size: each holds its object
  // open (a loose object is a file of its own), and a model of thousands of
  // tiny tensors fits thousands of chunks in max_inflight — past the usual
  // limit of 1024 open files. Restores running side by side share it out.
  size_t max_pending_chunks = 64;
  unsigned mode = 0644;
  // Where the file is written until it is verified (AtomicFile's tmp_dir):
  // empty for beside `out_path`.
  std::string tmp_dir;
  std::function<void(uint64_t)> on_progress;
  // If set, receives the XXH3-128 of the whole restored file (the key of
  // the clean cache, so git's re-clean of the file it just got is a hit).
  ObjectId* content_id = nullptr;
  // fsync before the rename. Off by default: restored files are work tree
  // files, which git's own checkout never fsyncs, and the fsync of a 2 GiB
  // file cost a second of waiting for the disk. The rename keeps the file
  // all-or-nothing for every other process either way.
  bool durable = false;
  // For readers of the file while it is written (the hub streams it):
  // `on_file` receives the output's descriptor once it exists, each chunk
  // is checked against its own checksum as it is decoded (otherwise the
  // final SHA-256 alone covers them), and `on_progress` counts bytes in
  // place from the start of the file.
  std::function<void(int fd)> on_file;
  bool check_chunks = false;
  // If set, the file's modification time, stamped before it is published.
  // Checkout gives the time it began: git trusts an index entry's stat data
  // only for files older (in whole seconds) than the index, so a file dated
  // when it was written would keep the index waiting for the next second.
  std::optional<timespec> mtime;
};

Status restore_file(const format::Manifest& m, const store::Resolver& resolver,
                    const std::string& out_path, ThreadPool& pool, const RestoreOptions& opts);

// Reads a whole blob object (header JSON, tail) and checks its id.
Result<std::vector<uint8_t>> read_blob(const store::Resolver& resolver, const ObjectId& id,
                                       uint64_t size);

}  // namespace zipllm::ops
