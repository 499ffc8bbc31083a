// The local content-addressed object store: a directory
//
//   <root>/objects/<id[0:2]>/<id[2:32]>   loose objects, one per file, mode 0444
//   <root>/packs/pack-*.zpk               small objects, batched (pack format v1,
//                                         empty manifest; docs/FORMAT.md §4)
//   <root>/tmp/                           scratch (filter spools)
//   <root>/corrupt/                       damaged objects set aside (quarantine)
//
// Objects smaller than k_pack_threshold (raw) written between two finish()
// calls go into one new pack, published atomically by finish(); so a model
// of many small tensors costs one file, not hundreds of 4 KiB blocks. Larger
// objects are loose files. All writes are temp file -> fsync -> rename
// (objects downloaded in bulk skip the fsync: copies of a remote's, as
// git-lfs's downloads are; a power cut can tear one, which its checksums
// catch and `verify --repair` fetches again) and idempotent: losing a race to another process
// writing the same id is success, because equal ids mean equal raw bytes. Readers see new packs
// from other processes (the packs folder is rescanned on a miss). Safe for
// many processes and threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <unordered_set>

#include "store/object_source.h"
#include "store/pack.h"

namespace zipllm::store {

class LocalStore : public ObjectSource, public ObjectSink {
 public:
  static constexpr uint64_t k_pack_threshold = 256u << 10;

  // Creates the directory layout if missing. `pack_threshold` 0 keeps every
  // object loose.
  static Result<std::unique_ptr<LocalStore>> open(const std::string& root,
                                                  uint64_t pack_threshold = k_pack_threshold);
  ~LocalStore() override;

  const std::string& root() const { return m_root; }
  std::string path_of(const ObjectId& id) const;

  Result<std::optional<ObjectLocation>> locate(const ObjectId& id) const override;
  bool contains(const ObjectId& id) const override;
  Result<std::unique_ptr<ObjectOutput>> create(const ObjectId& id, uint64_t raw_size) override;
  Status finish() override;
  // Present and passing check_encoded(). A damaged copy is quarantined
  // and None returned, so ingest and fetch write the object again. Loose
  // objects written by fetch or by a push into this store carry the sticky
  // bit (mode 01444, ignored for files by the kernel, kept by rename) and
  // are Foreign until vouched for (mode 0444, as ingest writes them).
  Holding holding(const ObjectId& id) override;
  Status vouch(const ObjectId& id) override;
  Status reject(const ObjectId& id) override { return quarantine(id); }
  // Sets a damaged object aside: a loose file moves to corrupt/ (kept for
  // inspection, removed by gc); a packed copy cannot be cut out of its
  // pack, so the object is written loose from now on, and a loose copy
  // always wins over a packed one. Afterwards the object can be written
  // again (ingest, fetch).
  Status quarantine(const ObjectId& id);
  // Moves an unreadable pack (one of bad_packs()) to corrupt/.
  Status quarantine_pack(const std::string& path);
  // A loose object file to fill by hand (downloads): commit(true) publishes
  // it. `foreign`: it comes from another store (see ObjectLocation).
  // Not `durable`: no fsync (downloads in bulk, which can be fetched again).
  Result<AtomicFile> create_loose(const ObjectId& id, bool foreign = false, bool durable = true);
  // Moves `file` (a whole encoded object, durable, on this store's
  // filesystem) into place as the loose object `id`, foreign or own. An
  // object already present keeps its copy and `file` is removed.
  Status adopt_loose(const ObjectId& id, const std::string& file, bool foreign);
  // The file mode of loose objects of each kind.
  static constexpr unsigned k_own_mode = 0444;
  static constexpr unsigned k_foreign_mode = 01444;

  // Marks a present object as in use now: its file's (or pack's)
  // modification time moves to now if it is older than a few minutes. A
  // deduplication against an object (holding()) and a clean-cache hit do
  // it, so prune's grace period protects what a running `git add` relies
  // on before git has written the index that references it.
  void freshen(const ObjectId& id) const;

  // Deletes loose objects and whole packs that `needed` rejects and whose
  // file is older than `cutoff` (an unneeded object in a pack that holds a
  // needed one stays: packs are not rewritten). A pack whose needed
  // objects all have another copy (loose, or in another pack: what a
  // repack killed between publishing a rewritten pack and deleting the old
  // one leaves) goes too. `dry_run` only counts.
  struct PruneStats {
    uint64_t objects = 0, bytes = 0, packs = 0;  // deleted (or, dry run, deletable)
    uint64_t recent = 0;                         // unneeded, kept: within the grace period
    uint64_t packed = 0;                         // unneeded, kept: in a pack with needed ones
  };
  // `unneeded`, if given, hears of each object `needed` rejects, with its
  // stored size, before it is deleted (young or not, packed or loose).
  Result<PruneStats> prune(const std::function<bool(const ObjectId&)>& needed,
                           std::chrono::system_clock::time_point cutoff, bool dry_run,
                           const std::function<void(const ObjectId&, uint64_t)>& unneeded = {});

  // Swaps in new encodings of objects already here (repack): `staged` maps
  // an id to a file (durable, in this store's filesystem) holding a whole
  // new encoding of it. Same id, same raw bytes: readers get the same bytes
  // from either. A loose object is renamed over; a pack holding any of them
  // is rewritten with the new encodings and published before the old pack
  // is deleted, so at every moment (and after a kill) each object has a
  // readable encoding.
  Status replace_encodings(const std::map<ObjectId, std::string>& staged);

  // Number of pack files currently known (for tests and status).
  size_t pack_count() const;
  // Every published object id (loose and packed; duplicates removed),
  // including entries under objects/ that are not regular files (damage
  // that verify must report, not skip).
  std::vector<ObjectId> list_ids() const;
  // Packs that exist but cannot be read (damaged): path and why.
  std::vector<std::pair<std::string, std::string>> bad_packs() const;

 private:
  friend class BatchedOutput;
  LocalStore(std::string root, uint64_t threshold)
      : m_root(std::move(root)), m_threshold(threshold) {}
  bool in_packs(const ObjectId& id, std::optional<ObjectLocation>* loc) const;
  // freshen() for a location already found (its file or pack).
  static void touch_if_stale(const ObjectLocation& loc);
  void scan_packs() const;

  std::string m_root;
  uint64_t m_threshold;
  mutable std::mutex m_mutex;
  mutable std::vector<std::unique_ptr<PackReader>> m_packs;
  mutable std::set<std::string> m_pack_names;
  mutable std::map<std::string, std::string> m_bad_packs;  // name -> why it cannot be read
  mutable int64_t m_packs_mtime_ns = -1;                   // packs/ as of the last full scan
  std::unique_ptr<PackWriter> m_batch;
  std::unordered_set<ObjectId, ObjectIdHash> m_batch_ids;
  std::unordered_set<ObjectId, ObjectIdHash> m_shadowed;  // damaged in a pack: write loose
};

}  // namespace zipllm::store
