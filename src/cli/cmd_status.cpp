// git zipllm status [--json] | show REV:PATH|FILE | textconv FILE
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/commands.h"
#include "git/base_choice.h"
#include "git/base_resolution.h"
#include "git/model_store.h"
#include "git/prune.h"
#include "git/repair.h"
#include "git/sync.h"
#include "ops/safetensors_file.h"
#include "store/object_io.h"

namespace zipllm::cli {

namespace {

struct ObjectInfo {
  bool present = false;
  uint64_t stored = 0;
  bool delta = false;
  ObjectId base;
};

ObjectInfo inspect(git::ModelStore& store, const ObjectId& id) {
  ObjectInfo info;
  auto loc = store.local->locate(id);
  if (!loc || !*loc) {
    return info;
  }
  auto r = store::ObjectReader::open(**loc, id);
  info.present = true;
  info.stored = (*loc)->length;
  if (r) {
    info.delta = r->header().has_base();
    info.base = r->header().base_id;
  }
  return info;
}

// What the whole store holds, against what git still needs.
struct StoreTotals {
  struct Part {
    size_t objects = 0;
    uint64_t bytes = 0;
  };
  Part all, head, history_only, unreferenced;
  size_t head_missing = 0;  // objects HEAD needs that this store lacks (fetched when used)
};

Result<StoreTotals> store_totals(git::Repo& repo, git::ModelStore& store) {
  StoreTotals t;
  std::map<ObjectId, uint64_t> size_of;
  for (const auto& id : store.local->list_ids()) {
    auto loc = store.local->locate(id);
    uint64_t n = loc && *loc ? (*loc)->length : 0;
    size_of.emplace(id, n);
    ++t.all.objects;
    t.all.bytes += n;
  }
  // HEAD's files and what is staged: what a checkout needs now.
  std::vector<format::Manifest> head;
  if (auto trees = git::manifests_in_trees(repo, {"HEAD"})) {
    for (auto& tm : *trees) {
      head.push_back(std::move(tm.manifest));
    }
  }
  for (const auto& p : TRY(repo.tracked_paths())) {
    if (auto m = git::stored_manifest(repo, p); m && *m) {
      head.push_back(std::move(**m));
    }
  }
  std::vector<ObjectId> missing;
  auto head_ids =
      TRY(store::object_closure(*store.local, git::distinct_object_ids(head), &missing));
  t.head_missing = missing.size();
  std::set<ObjectId> in_head(head_ids.begin(), head_ids.end());
  missing.clear();
  auto all = TRY(git::reachable_manifests(repo, store));
  auto needed = TRY(store::object_closure(*store.local, git::distinct_object_ids(all), &missing));
  std::set<ObjectId> in_history(needed.begin(), needed.end());
  for (const auto& [id, n] : size_of) {
    StoreTotals::Part& part = in_head.count(id)      ? t.head
                              : in_history.count(id) ? t.history_only
                                                     : t.unreferenced;
    ++part.objects;
    part.bytes += n;
  }
  return t;
}

// What the work tree holds at a tracked path, as a word for the table.
std::string work_tree_state(git::Repo& repo, const std::string& path) {
  auto wd = repo.workdir();
  if (!wd) {
    return "";
  }
  std::string file = *wd + "/" + path;
  auto fd = open_read(file);
  if (!fd) {
    return "missing";
  }
  std::vector<uint8_t> head(format::k_manifest_magic.size());
  auto size = file_size(fd->get(), file);
  if (size && *size >= head.size() && read_exact_at(fd->get(), 0, head, file) &&
      format::looks_like_manifest(head)) {
    return "placeholder";  // the manifest text: `git zipllm checkout` writes the file
  }
  return "present";
}

Status status(bool as_json) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open(repo));
  auto paths = TRY(repo.tracked_paths());
  // The LFS door's files: LFS pointers whose objects git-zipllm stored
  // (their manifests, read once).
  std::map<std::string, format::Manifest> lfs;
  size_t lfs_whole = 0;
  for (auto& p : TRY(repo.lfs_paths())) {
    if (auto m = git::stored_manifest(repo, p); m && *m) {
      lfs.emplace(p, std::move(**m));
      paths.push_back(std::move(p));
    } else {
      ++lfs_whole;
    }
  }
  nlohmann::json files = nlohmann::json::array();
  if (!as_json) {
    std::printf("%-48s %12s %12s %7s %7s %8s  %s\n", "path", "raw", "stored", "ratio", "deltas",
                "missing", "work tree");
  }
  uint64_t total_raw = 0, total_stored = 0;
  std::set<ObjectId> counted;
  size_t placeholders = 0;
  for (const auto& p : paths) {
    auto door = lfs.find(p);
    auto m = door != lfs.end() ? std::make_optional(std::move(door->second))
                               : TRY(git::stored_manifest(repo, p));
    if (!m) {
      if (as_json) {
        files.push_back({{"path", p}, {"manifest", false}});
      } else {
        std::printf("%-48s (not a zipllm manifest in the index: committed before the filter?)\n",
                    p.c_str());
      }
      continue;
    }
    uint64_t stored = format::serialize_manifest(*m).size();
    size_t deltas = 0, missing = 0;
    for (const auto& id : format::object_ids(*m)) {
      ObjectInfo info = inspect(*store, id);
      if (!info.present) {
        ++missing;
        continue;
      }
      deltas += info.delta;
      if (counted.insert(id).second) {
        stored += info.stored;
      }
    }
    total_raw += m->size;
    total_stored += stored;
    std::string state = lfs.count(p) ? "LFS" : work_tree_state(repo, p);
    placeholders += state == "placeholder";
    if (as_json) {
      files.push_back({{"path", p},
                       {"manifest", true},
                       {"sha256", to_hex(m->sha256)},
                       {"raw", m->size},
                       {"stored", stored},
                       {"deltas", deltas},
                       {"tensors", m->tensors.size()},
                       {"missing_objects", missing},
                       {"work_tree", state},
                       {"lfs", lfs.count(p) > 0}});
    } else {
      std::printf(
          "%-48s %12s %12s %7.2f %7zu %8zu  %s\n", p.c_str(), human_bytes(m->size).c_str(),
          human_bytes(stored).c_str(), stored ? double(m->size) / double(stored) : 0.0, deltas,
          missing,
          state == "placeholder" ? "placeholder: run `git zipllm checkout`" : state.c_str());
    }
  }
  StoreTotals t = TRY(store_totals(repo, *store));
  std::string said = git::unfiltered_manifests_message(TRY(repo.unfiltered_manifests()));
  if (as_json) {
    auto part = [](const StoreTotals::Part& x) {
      return nlohmann::json{{"objects", x.objects}, {"bytes", x.bytes}};
    };
    nlohmann::json out = {{"files", files},
                          {"total", {{"raw", total_raw}, {"stored", total_stored}}},
                          {"store",
                           {{"path", store->local->root()},
                            {"all", part(t.all)},
                            {"head", part(t.head)},
                            {"history_only", part(t.history_only)},
                            {"unreferenced", part(t.unreferenced)},
                            {"head_missing_objects", t.head_missing}}},
                          {"placeholders", placeholders},
                          {"lfs_not_stored", lfs_whole},
                          {"problem", said}};
    std::printf("%s\n", out.dump(2).c_str());
    return {};
  }
  std::printf("%-48s %12s %12s %7.2f   (objects shared between files counted once)\n", "total",
              human_bytes(total_raw).c_str(), human_bytes(total_stored).c_str(),
              total_stored ? double(total_raw) / double(total_stored) : 0.0);
  if (!lfs.empty() || lfs_whole) {
    std::printf(
        "LFS: %zu file(s) stored through git-zipllm (work tree \"LFS\"), %zu kept whole by "
        "git-lfs%s\n",
        lfs.size(), lfs_whole,
        lfs_whole ? " (`git zipllm lfs-enable` sends new ones through git-zipllm)" : "");
  }
  std::printf("\nstore %s: %zu object(s), %s\n", store->local->root().c_str(), t.all.objects,
              human_bytes(t.all.bytes).c_str());
  std::printf("  HEAD and the index need   %8zu  %12s  (delta bases included)\n", t.head.objects,
              human_bytes(t.head.bytes).c_str());
  std::printf("  only history needs        %8zu  %12s  (other refs, reflog, stashes, bases)\n",
              t.history_only.objects, human_bytes(t.history_only.bytes).c_str());
  std::printf("  nothing needs             %8zu  %12s  (`git zipllm prune` deletes them)\n",
              t.unreferenced.objects, human_bytes(t.unreferenced.bytes).c_str());
  if (t.head_missing) {
    std::printf("  %zu object(s) HEAD needs are not here (fetched when used)\n", t.head_missing);
  }
  if (placeholders) {
    std::printf("\n%zu file(s) hold manifest text, not the model: run `git zipllm checkout`\n",
                placeholders);
  }
  if (!said.empty()) {
    std::printf("\nproblem: %s\n", said.c_str());
  }
  return {};
}

// The manifest a safetensors file would get (hashing every tensor), so a
// work tree file and a stored manifest print the same way.
Result<format::Manifest> manifest_of_file(const std::string& path) {
  auto f = TRY(ops::open_safetensors(path));
  format::Manifest m;
  m.size = f.size;
  m.header_len = f.header_json.size();
  m.header_id = object_id_of(f.header_json);
  Sha256 sha;
  sha.update(f.prefix);
  sha.update(f.header_json);
  std::vector<uint8_t> buf;
  for (const auto& t : f.header.tensors) {
    IdHasher h;
    for (uint64_t off = 0; off < t.size(); off += 8u << 20) {
      buf.resize(std::min<uint64_t>(8u << 20, t.size() - off));
      TRY_STATUS(read_exact_at(f.fd->get(), f.header.data_start() + t.begin + off, buf, path));
      h.update(buf);
      sha.update(buf);
    }
    m.tensors.push_back({h.finish(), t});
  }
  if (f.header.tail_size) {
    buf.resize(f.header.tail_size);
    TRY_STATUS(read_exact_at(f.fd->get(), f.size - buf.size(), buf, path));
    sha.update(buf);
    m.has_tail = true;
    m.tail_len = buf.size();
    m.tail_id = object_id_of(buf);
  }
  m.sha256 = sha.finish();
  return m;
}

Result<format::Manifest> load_manifest(std::optional<git::Repo>& repo, const std::string& what) {
  if (path_exists(what)) {
    std::vector<uint8_t> head(format::k_manifest_magic.size());
    {
      Fd fd = TRY(open_read(what));
      uint64_t size = TRY(file_size(fd.get(), what));
      if (size < head.size() || !read_exact_at(fd.get(), 0, head, what)) {
        head.clear();
      }
    }
    if (!format::looks_like_manifest(head)) {
      if (auto m = manifest_of_file(what)) {
        return *m;
      }
      if (repo) {
        // A work tree file: show what the index stores for it.
        auto m = TRY(git::stored_manifest(*repo, what));
        if (m) {
          return *m;
        }
      }
      return make_error(Errc::InvalidArgument,
                        what + " is neither a zipllm manifest nor a safetensors file");
    }
    auto bytes = TRY(read_whole_file(what, format::k_max_manifest_size));
    std::string text(bytes.begin(), bytes.end());
    return TRY_CTX(format::parse_manifest(text), what);
  }
  if (!repo) {
    return make_error(Errc::NotFound, what + ": no such file, and not inside a git repository");
  }
  auto text = TRY(repo->blob(what, format::k_max_manifest_size));
  if (!text) {
    return make_error(Errc::NotFound, what + ": no such file or revision");
  }
  if (auto p = git::parse_lfs_pointer(*text)) {
    if (auto m = git::lfs_door_manifest(*repo, p->oid)) {
      return *m;  // stored through the LFS door
    }
    return make_error(Errc::NotFound,
                      what + " is an LFS pointer to " + p->oid.substr(0, 12) +
                          ", which git-zipllm has not stored (git-lfs keeps it whole; `git "
                          "zipllm lfs-enable` sends new LFS objects through git-zipllm)");
  }
  return TRY_CTX(format::parse_manifest(*text), what);
}

Status show(const std::string& what, bool with_store) {
  std::optional<git::Repo> repo;
  if (auto r = git::Repo::open()) {
    repo.emplace(std::move(*r));
  }
  format::Manifest m = TRY(load_manifest(repo, what));
  std::unique_ptr<git::ModelStore> store;
  if (with_store && repo) {
    auto s = git::ModelStore::open(*repo);
    if (s) {
      store = std::move(*s);
    }
  }
  std::printf("size %llu  sha256 %s  tensors %zu\n", static_cast<unsigned long long>(m.size),
              to_hex(m.sha256).c_str(), m.tensors.size());
  if (store) {
    if (auto choice = git::recorded_choice(*store, m.sha256)) {
      std::printf("%s", choice->c_str());
    } else {
      std::printf(
          "base: not recorded here (stored by another clone, or before the base "
          "finder); `git zipllm base suggest FILE` ranks the candidates now\n");
    }
  }
  if (store) {
    std::printf("%-56s %-6s %-16s %12s %12s  %s\n", "tensor", "dtype", "shape", "raw", "stored",
                "codec (base object)");
  } else {
    std::printf("%-56s %-6s %-16s %12s  %s\n", "tensor", "dtype", "shape", "raw", "object");
  }
  for (const auto& t : m.tensors) {
    std::string shape = format::shape_string(t.info.shape);
    const char* dtype = format::dtype_info(t.info.dtype).name.data();
    if (store) {
      ObjectInfo info = inspect(*store, t.id);
      std::string codec = !info.present ? "missing"
                          : info.delta  ? "delta (" + info.base.hex().substr(0, 12) + ")"
                                        : "solo";
      std::printf("%-56s %-6s %-16s %12llu %12llu  %s\n", t.info.name.c_str(), dtype, shape.c_str(),
                  static_cast<unsigned long long>(t.info.size()),
                  static_cast<unsigned long long>(info.stored), codec.c_str());
    } else {
      std::printf("%-56s %-6s %-16s %12llu  %s\n", t.info.name.c_str(), dtype, shape.c_str(),
                  static_cast<unsigned long long>(t.info.size()), t.id.hex().c_str());
    }
  }
  return {};
}

// git zipllm ls-files: one line per tracked model file, like `git lfs
// ls-files -l`, with what the store holds for it: its SHA-256, raw size,
// stored bytes (objects shared with files listed before it not counted
// again), and the files its delta objects are coded against.
Status ls_files() {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open_local(repo));
  struct Row {
    std::string path;
    format::Manifest m;
  };
  std::vector<Row> rows;
  std::map<ObjectId, std::string> owner;  // object id -> first file holding it
  for (const auto& p : TRY(repo.tracked_paths())) {
    auto m = TRY(git::stored_manifest(repo, p));
    if (!m) {
      continue;
    }
    for (const auto& id : format::object_ids(*m)) {
      owner.emplace(id, p);
    }
    rows.push_back({p, std::move(*m)});
  }
  std::set<ObjectId> counted;
  for (const auto& r : rows) {
    uint64_t stored = 0;
    size_t missing = 0;
    std::set<std::string> bases;
    for (const auto& id : format::object_ids(r.m)) {
      ObjectInfo info = inspect(*store, id);
      if (!info.present) {
        ++missing;
        continue;
      }
      if (counted.insert(id).second) {
        stored += info.stored;
      }
      if (info.delta) {
        auto it = owner.find(info.base);
        bases.insert(it != owner.end() && it->second != r.path ? it->second
                     : it != owner.end()                       ? "(itself)"
                                                               : "(not tracked here)");
      }
    }
    std::string base_list;
    for (const auto& b : bases) {
      base_list += (base_list.empty() ? "" : ",") + b;
    }
    std::printf(
        "%s %10s %10s  %s%s%s\n", to_hex(r.m.sha256).substr(0, 10).c_str(),
        human_bytes(r.m.size).c_str(), human_bytes(stored).c_str(), r.path.c_str(),
        base_list.empty() ? "" : ("  <- " + base_list).c_str(),
        missing ? ("  (" + std::to_string(missing) + " object(s) not in this store)").c_str() : "");
  }
  return {};
}

}  // namespace

std::vector<Runner> add_status(CLI::App& app) {
  auto as_json = std::make_shared<bool>(false);
  auto* st = app.add_subcommand(
      "status",
      "Tracked model files (raw and stored size, deltas, missing objects, work tree) "
      "and what the store holds against what git needs");
  st->add_flag("--json", *as_json, "machine-readable");
  auto what = std::make_shared<std::string>();
  auto* sh = app.add_subcommand("show", "Per-tensor table of a stored model");
  sh->add_option("what", *what, "REV:PATH, a manifest file, or a tracked work tree file")
      ->required();
  app.add_subcommand("ls-files", "Tracked model files: SHA-256, raw and stored size, delta bases");
  auto file = std::make_shared<std::string>();
  auto* tc = app.add_subcommand("textconv", "Readable form of a manifest (git diff runs this)");
  tc->add_option("file", *file)->required();
  return {[as_json] {
            Status s = status(*as_json);
            return s ? 0 : fail(s.error().context("status"));
          },
          [what] {
            Status s = show(*what, true);
            return s ? 0 : fail(s.error().context("show"));
          },
          [] {
            Status s = ls_files();
            return s ? 0 : fail(s.error().context("ls-files"));
          },
          [file] {
            Status s = show(*file, false);
            return s ? 0 : fail(s.error().context("textconv"));
          }};
}

}  // namespace zipllm::cli
