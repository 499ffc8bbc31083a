#include "git/base_choice.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <set>

#include "git/base_registry.h"
#include "git/settings.h"
#include "ops/model_index.h"
#include "util/redact.h"

namespace zipllm::git {

namespace {

constexpr size_t k_max_candidates = 8;
// Models the store's signature index offers per file, at most (the
// signature check then keeps k_max_candidates).
constexpr size_t k_max_indexed = 64;
// Models a remote store's index offers, at most (comparing one fetches a
// few of its tensors).
constexpr size_t k_max_remote = 2;
// A declaration is overridden only by a candidate estimated this much smaller.
constexpr double k_override = 0.9;

bool all_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "dir/model-00002-of-00004.safetensors" -> "dir/model-*-of-00004.safetensors":
// the shards of one model are one candidate.
std::optional<std::string> shard_group(const std::string& path);

}  // namespace

std::string candidate_name(const std::string& path) {
  return shard_group(path).value_or(path);
}

namespace {

std::optional<std::string> shard_group(const std::string& path) {
  constexpr std::string_view ext = ".safetensors";
  if (path.size() < ext.size() || path.compare(path.size() - ext.size(), ext.size(), ext) != 0) {
    return std::nullopt;
  }
  std::string stem = path.substr(0, path.size() - ext.size());
  size_t of = stem.rfind("-of-");
  if (of == std::string::npos || !all_digits(std::string_view(stem).substr(of + 4))) {
    return std::nullopt;
  }
  size_t dash = stem.rfind('-', of - 1);
  if (dash == std::string::npos ||
      !all_digits(std::string_view(stem).substr(dash + 1, of - dash - 1))) {
    return std::nullopt;
  }
  return stem.substr(0, dash) + "-*" + stem.substr(of) + std::string(ext);
}

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// A declared base as a candidate: its tensors are known by id, not by file.
ops::CandidateModel from_declared(const ResolvedBase& rb) {
  format::Manifest m;
  for (const auto& [name, t] : rb.model.tensors()) {
    format::ManifestTensor mt;
    mt.id = t.id;
    mt.info.name = name;
    mt.info.dtype = t.dtype;
    mt.info.end = t.size;
    m.tensors.push_back(std::move(mt));
  }
  ops::CandidateModel c;
  c.name = rb.origin;
  c.shards.push_back(std::move(m));
  c.files.emplace_back();
  c.rank = -1;
  return c;
}

Result<ResolvedBase> to_base(const ops::CandidateModel& c, const std::string& origin) {
  ResolvedBase rb;
  rb.origin = origin;
  for (const auto& m : c.shards) {
    TRY_STATUS(rb.model.add_manifest(m, c.name));
  }
  return rb;
}

void hint(const std::string& path, const ops::CandidateModel& c, const ops::BaseScore& best,
          double against) {
  int pct = static_cast<int>((1.0 - best.ratio / against) * 100.0 + 0.5);
  std::fprintf(stderr,
               "git-zipllm: hint: %s would store about %d %% smaller against %s "
               "(`git config zipllm.autobase on` lets the base finder choose)\n",
               path.empty() ? "this file" : path.c_str(), pct, c.name.c_str());
}

}  // namespace

void record_choice(const ModelStore& store, const format::Manifest& m, const BaseChoice& choice) {
  std::string text = "base: " + (choice.base ? choice.base->origin : "none (coded alone)") + "\n";
  for (size_t i = 0; i < choice.ranking.size() && i < 5; ++i) {
    const ops::BaseScore& s = choice.ranking[i];
    char line[160];
    std::snprintf(line, sizeof line, "  %5.0f%% of solo, %3.0f%% common, %3.0f%% same exponent  ",
                  s.ratio * 100, s.coverage * 100, s.exponent_match * 100);
    text += line + choice.candidates[s.index].name +
            (s.related ? "" : " (ruled out: " + s.why_not + ")") + "\n";
  }
  std::string dir = store.local->root() + "/cache/choice";
  if (!make_dirs(dir)) {
    return;
  }
  if (auto f = AtomicFile::create(dir + "/" + to_hex(m.sha256), 0644)) {
    if (f->write(
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()))) {
      (void)f->commit();
    }
  }
}

std::optional<std::string> recorded_choice(const ModelStore& store,
                                           const std::array<uint8_t, 32>& sha256) {
  auto bytes = read_whole_file(store.local->root() + "/cache/choice/" + to_hex(sha256), 1 << 16);
  if (!bytes) {
    return std::nullopt;
  }
  return std::string(bytes->begin(), bytes->end());
}

Result<AutoBase> autobase_setting(Repo& repo) {
  auto v = Settings::load(repo).get("zipllm.autobase");
  if (!v || *v == "on" || *v == "true") {
    return AutoBase::On;
  }
  if (*v == "suggest") {
    return AutoBase::Suggest;
  }
  if (*v == "off" || *v == "false") {
    return AutoBase::Off;
  }
  return make_error(Errc::InvalidArgument,
                    "zipllm.autobase is '" + *v + "'; expected on, suggest or off");
}

Status BaseChooser::load_known() {
  if (m_loaded) {
    return {};
  }
  m_loaded = true;
  import_committed_bases(m_repo, m_store);
  auto wd = m_repo.workdir();
  for (const auto& p : TRY(m_repo.tracked_paths())) {
    // A damaged or missing manifest is no candidate (restoring reports it).
    if (auto m = stored_manifest(m_repo, p); m && *m && !(*m)->generic) {
      // What this process stored is newer than the index.
      m_models.emplace(p, Known{std::move(**m), wd ? *wd + "/" + p : ""});
    }
  }
  // Stores from before the model index: their models are only in the
  // clean cache and the LFS door's manifests. Indexed once.
  ops::ModelIndex index(m_store.local->root());
  if (!index.built()) {
    for (const auto& dir : {std::string("/cache/clean"), std::string("/lfs")}) {
      for (const auto& entry : list_dir(m_store.local->root() + dir)) {
        if (is_plain_file(entry)) {
          if (auto m = manifest_file(entry)) {
            index.add(*m);
          }
        }
      }
    }
    index.mark_built();
  }
  return {};
}

std::vector<BaseChooser::Known> BaseChooser::stored_like(const format::Header& h) {
  // Every model the store holds (cleaned, restored, through the LFS door,
  // pushed by others and fetched) sharing one of F's largest tensors: a few
  // small directories, however big the store. Decoded when sampled unless
  // git-lfs still keeps the file (its oid is the SHA-256).
  std::vector<Known> out;
  for (auto& m :
       ops::ModelIndex(m_store.local->root()).lookup(ops::signature_keys(h), k_max_indexed)) {
    std::string oid = to_hex(m.sha256);
    std::string lfs_file = m_repo.common_dir() + "/lfs/objects/" + oid.substr(0, 2) + "/" +
                           oid.substr(2, 2) + "/" + oid;
    std::error_code ec;
    bool in_lfs = std::filesystem::file_size(lfs_file, ec) == m.size && !ec;
    out.push_back(Known{std::move(m), in_lfs ? lfs_file : ""});
  }
  return out;
}

std::vector<ops::CandidateModel> BaseChooser::remote_like(const format::Header& h) {
  std::vector<ops::CandidateModel> out;
  ops::ModelIndex local(m_store.local->root());
  auto keys = ops::signature_keys(h);
  for (const auto& up : m_store.source->upstreams()) {
    if (out.size() >= k_max_remote) {
      break;
    }
    // One quick reachability check per store and process: an unreachable
    // store costs a `git add` nothing but this.
    auto [it, fresh] = m_remote_ok.emplace(up->url(), false);
    if (fresh) {
      it->second = up->is_local() || up->ping().ok();
    }
    if (!it->second) {
      continue;
    }
    std::vector<std::vector<std::string>> per_key;
    for (const auto& key : keys) {
      auto names = up->list(ops::index_prefix(key));
      if (!names) {
        it->second = false;
        break;
      }
      per_key.push_back(std::move(*names));
    }
    for (const auto& hex : ops::most_shared(per_key)) {
      auto sha = Sha256::from_hex(hex);
      if (out.size() >= k_max_remote || !it->second) {
        break;
      }
      if (!sha || local.has(*sha)) {
        continue;  // considered already, as a stored model
      }
      // The LFS door's models keep their manifest under lfs/ alone.
      auto text = up->get_text(ops::model_key(*sha), format::k_max_manifest_size);
      if (!text && text.error().code == Errc::NotFound) {
        text = up->get_text(remote::RemoteStore::lfs_key(hex), format::k_max_manifest_size);
      }
      auto m = text ? format::parse_manifest(*text) : Result<format::Manifest>(text.error());
      if (!m || m->generic || m->sha256 != *sha) {
        continue;
      }
      ops::CandidateModel c;
      c.name = "remote model " + hex.substr(0, 12) + " (" + redact(up->url()) + ")";
      c.shards.push_back(std::move(*m));
      c.files.emplace_back();
      c.rank = 4;
      out.push_back(std::move(c));
    }
  }
  return out;
}

void BaseChooser::remember(const std::string& path, const format::Manifest& m,
                           const std::string& file) {
  if (m.generic || (path.empty() && file.empty())) {
    return;
  }
  auto wd = m_repo.workdir();
  std::string key = !path.empty() ? path : "LFS object " + to_hex(m.sha256).substr(0, 12);
  m_models.insert_or_assign(key, Known{m, !file.empty() ? file : wd ? *wd + "/" + path : ""});
}

std::vector<ops::CandidateModel> BaseChooser::candidates_for(const std::string& path,
                                                             const format::Header& h) {
  auto allowed = [&](const std::string& name) { return !m_allow || m_allow(name); };
  // The same model under two names is offered once: where a file holds it
  // (reading a file is cheaper than decoding), else as this path's previous
  // version, else under any name.
  std::set<std::array<uint8_t, 32>> seen;
  std::map<std::string, ops::CandidateModel> groups;
  auto add_known = [&](bool with_file) {
    for (const auto& [p, k] : m_models) {
      std::string key = candidate_name(p);
      if (k.file.empty() == with_file || p == path || !allowed(key) ||
          !seen.insert(k.manifest.sha256).second) {
        continue;
      }
      ops::CandidateModel& c = groups[key];
      c.name = key;
      c.shards.push_back(k.manifest);
      c.files.push_back(k.file);
      c.rank = dir_of(p) == dir_of(path) ? 1 : 2;
    }
  };
  add_known(true);
  std::vector<ops::CandidateModel> out;
  if (!path.empty() && allowed("HEAD:" + path)) {
    auto prev = stored_manifest(m_repo, path, /*index_first=*/false);
    if (prev && *prev && !(*prev)->generic && seen.insert((*prev)->sha256).second) {
      ops::CandidateModel c;
      c.name = "HEAD:" + path;
      c.shards.push_back(std::move(**prev));
      c.files.emplace_back();
      c.rank = 0;
      out.push_back(std::move(c));
    }
  }
  add_known(false);
  for (auto& [key, c] : groups) {
    out.push_back(std::move(c));
  }
  for (auto& k : stored_like(h)) {
    std::string name = (k.file.empty() ? "stored model " : "LFS object ") +
                       to_hex(k.manifest.sha256).substr(0, 12);
    if (!allowed(name) || !seen.insert(k.manifest.sha256).second) {
      continue;
    }
    ops::CandidateModel c;
    c.name = std::move(name);
    c.shards.push_back(std::move(k.manifest));
    c.files.push_back(std::move(k.file));
    c.rank = 2;
    out.push_back(std::move(c));
  }
  for (const auto& name : list_bases(m_store)) {
    if (!allowed("registered base " + name)) {
      continue;
    }
    if (auto rb = load_base(m_store, name); rb && *rb) {
      ops::CandidateModel c;
      c.name = "registered base " + name;
      for (auto& [file, m] : (*rb)->shards) {
        c.shards.push_back(std::move(m));
        c.files.emplace_back();
      }
      c.rank = 3;
      out.push_back(std::move(c));
    }
  }
  return out;
}

bool BaseChooser::all_local(const format::Manifest& m) {
  // Asked for every candidate on every clean: each model checked once (a
  // declared base's stand-in manifest has no SHA-256 and is not remembered).
  bool keyed = m.sha256 != std::array<uint8_t, 32>{};
  if (keyed) {
    if (auto it = m_all_local.find(m.sha256); it != m_all_local.end()) {
      return it->second;
    }
  }
  bool local = std::all_of(m.tensors.begin(), m.tensors.end(),
                           [&](const auto& t) { return m_store.local->contains(t.id); });
  if (keyed) {
    m_all_local.emplace(m.sha256, local);
  }
  return local;
}

bool BaseChooser::previous_ruled_out(const std::string& path, const BaseChoice& choice) {
  if (path.empty()) {
    return false;
  }
  auto prev = stored_manifest(m_repo, path, /*index_first=*/false);
  if (!prev || !*prev) {
    return false;
  }
  for (const auto& s : choice.ranking) {
    const ops::CandidateModel& c = choice.candidates[s.index];
    if (!s.related && c.shards.size() == 1 && c.shards[0].sha256 == (*prev)->sha256) {
      return true;
    }
  }
  return false;
}

Result<BaseChoice> BaseChooser::choose(const std::string& path, const std::string& file,
                                       std::optional<AutoBase> mode) {
  BaseChoice out;
  if (mode) {
    m_mode = mode;
  } else if (!m_mode) {
    m_mode = TRY(autobase_setting(m_repo));
  }
  std::optional<ResolvedBase> declared;
  if (!path.empty()) {
    declared = TRY(resolve_declared_base(m_repo, m_store, m_pool, path));
  }
  auto f = ops::open_safetensors(file);
  auto fallback = [&]() -> Result<std::optional<ResolvedBase>> {
    if (declared || path.empty()) {
      return std::move(declared);
    }
    return previous_version(m_repo, path);
  };
  if (*m_mode == AutoBase::Off || !f) {
    out.base = TRY(fallback());
    return out;
  }
  TRY_STATUS(load_known());
  // The signature check: only candidates sharing most of F's tensor bytes,
  // whose objects this store holds, the preferred ones first.
  std::vector<std::pair<double, ops::CandidateModel>> kept;
  for (auto& c : candidates_for(path, f->header)) {
    double cov = ops::signature_coverage(f->header, c);
    if (cov < ops::FinderOptions{}.min_coverage) {
      continue;
    }
    bool local = std::all_of(c.shards.begin(), c.shards.end(),
                             [&](const format::Manifest& m) { return all_local(m); });
    if (local) {
      kept.emplace_back(cov, std::move(c));
    }
  }
  if (kept.empty()) {
    // Nothing here shares its tensors: models pushed from other clones to
    // the remote store, whose objects are then fetched to compare.
    for (auto& c : remote_like(f->header)) {
      double cov = ops::signature_coverage(f->header, c);
      if (cov >= ops::FinderOptions{}.min_coverage) {
        kept.emplace_back(cov, std::move(c));
      }
    }
  }
  std::stable_sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second.rank != b.second.rank ? a.second.rank < b.second.rank : a.first > b.first;
  });
  for (size_t i = 0; i < kept.size() && out.candidates.size() < k_max_candidates; ++i) {
    out.candidates.push_back(std::move(kept[i].second));
  }
  std::optional<size_t> declared_at;
  if (declared) {
    declared_at = out.candidates.size();
    out.candidates.push_back(from_declared(*declared));
  }
  if (out.candidates.empty()) {
    out.base = TRY(fallback());
    return out;
  }
  out.ranking = TRY(ops::rank_bases(*f, out.candidates, m_store.resolver));
  const ops::BaseScore& best = out.ranking.front();
  const ops::BaseScore* decl = nullptr;
  for (const auto& s : out.ranking) {
    if (declared_at && s.index == *declared_at) {
      decl = &s;
    }
  }
  bool finder_wins =
      best.related && (!decl || (best.index != decl->index &&
                                 (!decl->related || best.ratio < decl->ratio * k_override)));
  if (!finder_wins) {
    if (!decl && *m_mode == AutoBase::On && previous_ruled_out(path, out)) {
      return out;  // the previous version is unrelated (retrained): coded alone
    }
    out.base = TRY(fallback());
    return out;
  }
  const ops::CandidateModel& c = out.candidates[best.index];
  if (*m_mode == AutoBase::Suggest) {
    out.base = TRY(fallback());
    // Compared with what is used instead: the declaration, else the
    // previous version (a candidate too), else no base.
    double used = 1.0;
    for (const auto& s : out.ranking) {
      bool is_fallback = decl ? &s == decl : out.candidates[s.index].name == "HEAD:" + path;
      if (is_fallback && s.related) {
        used = s.ratio;
      }
    }
    if (best.ratio < used * k_override) {
      hint(path, c, best, used);
    }
    return out;
  }
  char score[32];
  std::snprintf(score, sizeof score, "%.2f", best.ratio);
  auto rb = to_base(c, "base finder: " + c.name + " (estimated " + score + " of solo)");
  if (!rb) {
    out.base = TRY(fallback());  // e.g. shards that overlap: not one model after all
    return out;
  }
  out.base = std::move(*rb);
  return out;
}

}  // namespace zipllm::git
