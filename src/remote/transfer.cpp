#include "remote/transfer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_set>

#include "store/object_io.h"
#include "util/env.h"
#include "util/progress.h"

namespace zipllm::remote {

namespace {

// Progress over a known set of transfers.
class Meter {
 public:
  Meter(const std::string& label, uint64_t total_objects) : m_total(total_objects) {
    if (!label.empty() && total_objects > 0) {
      m_progress = std::make_unique<Progress>(label, 0);
    }
  }
  void bytes(uint64_t n) {
    uint64_t b = m_bytes.fetch_add(n) + n;
    draw(b);
  }
  void object_done() {
    m_done.fetch_add(1);
    draw(m_bytes.load());
  }
  uint64_t total_bytes() const { return m_bytes.load(); }

 private:
  void draw(uint64_t b) {
    if (m_progress) {
      m_progress->update(b, m_done.load(), m_total, "objects");
    }
  }
  uint64_t m_total;
  std::atomic<uint64_t> m_bytes{0};
  std::atomic<uint64_t> m_done{0};
  std::unique_ptr<Progress> m_progress;
};

}  // namespace

TransferOptions default_transfer_options(std::string label) {
  TransferOptions o;
  o.jobs = static_cast<int>(env::number(env::Var::Transfers, 8, 1, 64));
  o.attempts = static_cast<int>(env::number(env::Var::Retries, 5, 1, 20));
  o.label = std::move(label);
  return o;
}

Status with_retry(const TransferOptions& opts, const std::function<Status()>& op) {
  int delay = opts.backoff_ms;
  for (int attempt = 1;; ++attempt) {
    Status s = op();
    if (s || s.error().code != Errc::Unavailable || attempt >= opts.attempts) {
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    delay *= 2;
  }
}

Status ping_remote(RemoteStore& remote) {
  TransferOptions o = default_transfer_options("");
  o.attempts = std::min(o.attempts, 3);
  Status s = with_retry(o, [&] { return remote.ping(); });
  if (!s) {
    return std::move(s).error().context("cannot use the zipllm store " + remote.url());
  }
  return {};
}

Status parallel_for(size_t n, int jobs, const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  Status first;
  auto work = [&] {
    while (!failed.load()) {
      size_t i = next.fetch_add(1);
      if (i >= n) {
        return;
      }
      // An exception must not escape a worker thread (that would end the
      // process without a message): it fails the loop like an error.
      Status s;
      try {
        s = fn(i);
      } catch (const std::exception& e) {
        s = make_error(Errc::Internal, std::string("internal error: ") + e.what());
      }
      if (!s) {
        std::lock_guard lock(mutex);
        if (!failed.exchange(true)) {
          first = std::move(s);
        }
      }
    }
  };
  size_t threads = std::min<size_t>(n, static_cast<size_t>(std::max(1, jobs)));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) {
    pool.emplace_back(work);
  }
  work();
  for (auto& t : pool) {
    t.join();
  }
  return first;
}

Result<TransferStats> upload_objects(const store::ObjectSource& source, RemoteStore& remote,
                                     const std::vector<ObjectId>& ids,
                                     const TransferOptions& opts) {
  // Which are missing over there (in parallel: one round trip each on S3).
  // One of another size than ours counts as missing and is uploaded again
  // over it (objects are content-addressed: the sizes of good copies agree).
  std::vector<char> missing(ids.size(), 0);
  std::vector<store::ObjectLocation> locs(ids.size());
  TRY_STATUS(parallel_for(ids.size(), opts.jobs, [&](size_t i) -> Status {
    auto loc = TRY(source.locate(ids[i]));
    if (!loc) {
      return make_error(Errc::NotFound, "object " + ids[i].hex() + " is not in the local store");
    }
    locs[i] = std::move(*loc);
    return with_retry(opts, [&]() -> Status {
      auto size = TRY(remote.object_size(ids[i]));
      missing[i] = !size || *size != locs[i].length;
      return {};
    });
  }));
  std::vector<size_t> todo;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (missing[i]) {
      todo.push_back(i);
    }
  }
  TransferStats stats;
  stats.present = ids.size() - todo.size();
  Meter meter(opts.label, todo.size());
  // Bases first where possible: callers list them after their deltas.
  std::reverse(todo.begin(), todo.end());
  TRY_STATUS(parallel_for(todo.size(), opts.jobs, [&](size_t k) -> Status {
    const ObjectId& id = ids[todo[k]];
    const store::ObjectLocation& loc = locs[todo[k]];
    Status s = with_retry(opts, [&]() -> Status {
      return remote.put_object(id, loc, [&](uint64_t n) { meter.bytes(n); });
    });
    if (!s) {
      return std::move(s).error().context("uploading object " + id.hex());
    }
    meter.object_done();
    return {};
  }));
  stats.objects = todo.size();
  stats.bytes = meter.total_bytes();
  return stats;
}

namespace {

// Downloads `id` into a loose file, checks it, publishes it.
bool have_locally(store::LocalStore& local, const ObjectId& id, const TransferOptions& opts) {
  return opts.verify_local ? local.has_intact(id) : local.contains(id);
}

Status fetch_one(RemoteStore& remote, store::LocalStore& local, const ObjectId& id,
                 const TransferOptions& opts, const ByteCounter& counter, bool durable = true) {
  if (have_locally(local, id, opts)) {
    return {};
  }
  AtomicFile f = TRY(local.create_loose(id, /*foreign=*/true, durable));
  Status got = with_retry(opts, [&]() -> Status {
    TRY_STATUS(truncate_to_start(f.fd(), f.temp_path()));
    return remote.get_object(id, f.fd(), f.temp_path(), counter);
  });
  if (!got) {
    return got;
  }
  // Verify before anyone can see it: header, id, table, every chunk's checksum.
  Fd rd = TRY(open_read(f.temp_path()));
  uint64_t size = TRY(file_size(rd.get(), f.temp_path()));
  store::ObjectLocation loc{std::make_shared<const Fd>(std::move(rd)), 0, size,
                            remote.url() + " object " + id.hex()};
  if (Status c = store::check_encoded(loc, id); !c) {
    return make_error(Errc::Corrupt, "downloaded object " + id.hex() + " from " + remote.url() +
                                         " is corrupt: " + c.error().message);
  }
  return f.commit(/*keep_existing=*/true);
}

}  // namespace

Status download_object(RemoteStore& remote, store::LocalStore& local, const ObjectId& id,
                       const TransferOptions& opts, const ByteCounter& counter) {
  return fetch_one(remote, local, id, opts, counter);
}

Result<TransferStats> download_closure(RemoteStore& remote, store::LocalStore& local,
                                       const std::vector<ObjectId>& ids,
                                       const TransferOptions& opts, bool skip_missing) {
  TransferStats stats;
  std::mutex missing_mutex;
  std::set<ObjectId> seen;
  std::vector<ObjectId> round;
  for (const auto& id : ids) {
    if (seen.insert(id).second) {
      round.push_back(id);
    }
  }
  std::unique_ptr<Meter> meter;
  while (!round.empty()) {
    std::vector<ObjectId> want;
    size_t missing_before = stats.missing.size();
    for (const auto& id : round) {
      if (!have_locally(local, id, opts)) {
        want.push_back(id);
      } else {
        ++stats.present;
      }
    }
    if (!meter) {
      meter = std::make_unique<Meter>(opts.label, want.size());
    }
    TRY_STATUS(parallel_for(want.size(), opts.jobs, [&](size_t i) -> Status {
      // Not fsynced (as git-lfs's downloads are not): copies of what the
      // remote keeps, and an fsync flushes the filesystem's journal with
      // every restored file still in the page cache — a second per model
      // after a big one. A copy torn by a power cut fails its checksums
      // when read; `verify --repair` fetches it again.
      Status s = fetch_one(
          remote, local, want[i], opts, [&](uint64_t n) { meter->bytes(n); }, /*durable=*/false);
      if (s) {
        meter->object_done();
      } else if (skip_missing && s.error().code == Errc::NotFound) {
        std::lock_guard lock(missing_mutex);
        stats.missing.push_back(want[i]);
        return {};
      }
      return s;
    }));
    stats.objects += want.size() - (stats.missing.size() - missing_before);
    // The bases of everything in this round, unless seen.
    std::vector<ObjectId> next;
    for (const auto& id : round) {
      auto loc = TRY(local.locate(id));
      if (!loc) {
        continue;  // listed in `missing`
      }
      auto reader = TRY(store::ObjectReader::open(*loc, id));
      if (reader.header().has_base() && seen.insert(reader.header().base_id).second) {
        next.push_back(reader.header().base_id);
      }
    }
    round = std::move(next);
  }
  stats.bytes = meter ? meter->total_bytes() : 0;
  return stats;
}

}  // namespace zipllm::remote
