// The clean and smudge transforms (filter.h); the clean receiver is in
// filter_receiver.cpp, the filter-process protocol in filter_process.cpp.
#include "git/filter.h"

#include <fcntl.h>

#include <cstdio>

#include "git/hooks.h"
#include "git/sync.h"
#include "ops/ingest.h"
#include "ops/restore.h"
#include "util/env.h"

namespace zipllm::git {

namespace {

Result<uint64_t> spool_size(const TempFile& f) {
  return file_size(f.fd(), f.path());
}

Result<std::string> read_small(const TempFile& f, uint64_t size) {
  std::string s(size, '\0');
  TRY_STATUS(read_exact_at(
      f.fd(), 0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), size), f.path()));
  return s;
}

bool starts_with_manifest_magic(const TempFile& f, uint64_t size) {
  if (size < format::k_manifest_magic.size()) {
    return false;
  }
  std::vector<uint8_t> head(format::k_manifest_magic.size());
  if (!read_exact_at(f.fd(), 0, head, f.path())) {
    return false;
  }
  return format::looks_like_manifest(head);
}

}  // namespace

Status Filter::ensure_open() {
  if (m_store) {
    return {};
  }
  m_repo.emplace(TRY(Repo::open()));
  if (!m_scratch_root.empty()) {
    m_store = TRY(ModelStore::open_scratch(*m_repo, m_scratch_root));
    m_chooser.emplace(*m_repo, *m_store, m_pool);
    return {};
  }
  m_store = TRY(ModelStore::open(*m_repo));
  m_chooser.emplace(*m_repo, *m_store, m_pool);
  // A fresh clone gets its pre-push hook here (never over an existing one).
  install_missing_hooks(*m_repo);
  return {};
}

Result<std::string> Filter::tmp_dir() {
  TRY_STATUS(ensure_open());
  return m_store->local->root() + "/tmp";
}

Status Filter::clean(const std::string& path, const TempFile& content, std::string& out,
                     const std::optional<ObjectId>& content_id) {
  TRY_STATUS(ensure_open());
  uint64_t size = TRY(spool_size(content));
  if (content_id) {
    if (auto hit = clean_cache_lookup(*m_store, *content_id, size)) {
      out = std::move(*hit);
      return {};
    }
  }
  if (starts_with_manifest_magic(content, size) && size <= format::k_max_manifest_size) {
    std::string text = TRY(read_small(content, size));
    if (format::parse_manifest(text)) {
      out = std::move(text);  // already clean
      return {};
    }
  }
  auto choice = TRY_CTX(m_chooser->choose(path, content.path()), "base model");
  auto& base = choice.base;
  ops::IngestOptions opts;
  opts.allow_generic = true;  // a tracked file that is not safetensors: generic parts
  // The spool may hold bytes copied from the work tree file rather than
  // received: the manifest must describe what git sent.
  opts.expect_content_id = content_id;
  auto m = ops::ingest_file(content.path(), base ? &base->model : nullptr, m_store->resolver,
                            *m_store->local, m_pool, opts, nullptr);
  if (!m) {
    // The spool's name means nothing to the user: name the tracked path.
    Error e = std::move(m).error();
    size_t at = e.message.find(content.path());
    while (at != std::string::npos) {
      e.message.replace(at, content.path().size(), path);
      at = e.message.find(content.path());
    }
    if (e.message.rfind(path, 0) != 0) {
      e = std::move(e).context(path);
    }
    return e;
  }
  m_chooser->remember(path, *m);
  record_choice(*m_store, *m, choice);
  out = format::serialize_manifest(*m);
  if (content_id) {
    clean_cache_store(*m_store, *content_id, out);
  }
  return {};
}

bool Filter::is_manifest(const TempFile& content) {
  auto size = spool_size(content);
  return !env::flag(env::Var::SkipSmudge) && size && *size <= format::k_max_manifest_size &&
         starts_with_manifest_magic(content, *size);
}

Status Filter::prefetch(const std::vector<const TempFile*>& contents) {
  TRY_STATUS(ensure_open());
  if (m_store->source->upstreams().empty()) {
    return {};
  }
  std::vector<format::Manifest> manifests;
  for (const TempFile* c : contents) {
    auto size = spool_size(*c);
    if (!size || !starts_with_manifest_magic(*c, *size) || *size > format::k_max_manifest_size) {
      continue;
    }
    auto text = read_small(*c, *size);
    if (!text) {
      continue;
    }
    if (auto m = format::parse_manifest(*text)) {
      manifests.push_back(std::move(*m));
    }
  }
  if (manifests.empty()) {
    return {};
  }
  auto st = TRY(git::prefetch(*m_store, manifests,
                              remote::default_transfer_options("git-zipllm: downloading")));
  if (st.objects && env::flag(env::Var::Trace)) {
    std::fprintf(stderr, "git-zipllm: trace: prefetched %llu object(s) for %zu file(s)\n",
                 static_cast<unsigned long long>(st.objects), manifests.size());
  }
  return {};
}

Result<Filter::SmudgeResult> Filter::smudge(const std::string& path, const TempFile& content) {
  SmudgeResult r;
  uint64_t size = TRY(spool_size(content));
  if (env::flag(env::Var::SkipSmudge) || !starts_with_manifest_magic(content, size) ||
      size > format::k_max_manifest_size) {
    r.passthrough = true;
    return r;
  }
  std::string text = TRY(read_small(content, size));
  auto m = format::parse_manifest(text);
  if (!m) {
    return std::move(m).error().context(path);
  }
  TRY_STATUS(ensure_open());
  TempFile out = TRY(TempFile::create(m_store->local->root() + "/tmp", "smudge"));
  // restore_file publishes by rename; restore to a name beside the temp file
  // and rename over it.
  std::string target = out.path();
  ops::RestoreOptions opts;
  ObjectId content_id;
  opts.content_id = &content_id;
  Status s = ops::restore_file(*m, m_store->resolver, target, m_pool, opts);
  if (!s) {
    return std::move(s).error().context(path);
  }
  // git re-cleans the file it just wrote (status after checkout): a hit.
  clean_cache_store(*m_store, content_id, text);
  // `out`'s descriptor refers to the replaced (empty) inode; reopen by path.
  r.restored.emplace(std::move(out));
  return r;
}

}  // namespace zipllm::git
