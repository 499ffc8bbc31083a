// Moving objects between the local store and a remote store: in parallel,
// with retry and backoff on transient failures, with progress on stderr,
// skipping what the other side already has. Downloads are verified (header,
// id, every chunk's checksum) before they become visible in the local store.
#pragma once

#include <functional>
#include <vector>

#include "remote/remote_store.h"
#include "store/closure.h"
#include "store/local_store.h"

namespace zipllm::remote {

struct TransferOptions {
  int jobs = 8;          // parallel transfers (zipllm.transfers, GIT_ZIPLLM_TRANSFERS)
  int attempts = 5;      // per object, for transient errors
  int backoff_ms = 200;  // doubled after each failed attempt
  std::string label;     // progress label; empty: no progress
  // Downloads: check local copies (check_encoded) instead of trusting that
  // they exist; damaged ones are quarantined and downloaded again.
  bool verify_local = false;
};

// Options from the environment (GIT_ZIPLLM_TRANSFERS, GIT_ZIPLLM_RETRIES).
TransferOptions default_transfer_options(std::string label);

struct TransferStats {
  uint64_t objects = 0;           // transferred
  uint64_t bytes = 0;             // transferred (encoded bytes)
  uint64_t present = 0;           // skipped: already on the other side
  std::vector<ObjectId> missing;  // download_closure with skip_missing: not on the remote
};

// Checks that `remote` answers: a few quick attempts (seconds, not minutes,
// for a wrong or dead endpoint), the error naming the URL.
Status ping_remote(RemoteStore& remote);

// Runs `op`, retrying it while it fails with Errc::Unavailable.
Status with_retry(const TransferOptions& opts, const std::function<Status()>& op);

// Uploads the objects of `ids` that `remote` lacks.
Result<TransferStats> upload_objects(const store::ObjectSource& source, RemoteStore& remote,
                                     const std::vector<ObjectId>& ids, const TransferOptions& opts);

// Downloads the objects of `ids` that `local` lacks, and then the delta
// bases those need, until everything `ids` needs is local. With
// `skip_missing`, objects the remote lacks are listed in `missing` instead
// of failing (another upstream may have them).
Result<TransferStats> download_closure(RemoteStore& remote, store::LocalStore& local,
                                       const std::vector<ObjectId>& ids,
                                       const TransferOptions& opts, bool skip_missing = false);

// Downloads one object into `local` (no-op if present), verified.
Status download_object(RemoteStore& remote, store::LocalStore& local, const ObjectId& id,
                       const TransferOptions& opts, const ByteCounter& counter = {});

// Runs fn(i) for i in [0, n) on `jobs` threads; the first error stops new
// work and is returned.
Status parallel_for(size_t n, int jobs, const std::function<Status(size_t)>& fn);

}  // namespace zipllm::remote
