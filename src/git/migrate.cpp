#include "git/migrate.h"

#include <git2.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <set>

#include "format/manifest.h"
#include "git/git_command.h"
#include "git/install.h"
#include "git/model_store.h"
#include "util/file.h"
#include "util/hash.h"
#include "util/progress.h"

namespace zipllm::git {

namespace {

Error lib_error(const std::string& what) {
  const ::git_error* e = git_error_last();
  return make_error(Errc::IoError, what + ": " + (e && e->message ? e->message : "libgit2 error"));
}

std::string hex(const git_oid& id) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &id);
  return buf;
}

std::string key(const git_oid& id) {
  return std::string(reinterpret_cast<const char*>(id.id), GIT_OID_RAWSZ);
}

template <typename T, void (*Free)(T*)>
struct Owned {
  T* p = nullptr;
  ~Owned() {
    if (p) {
      Free(p);
    }
  }
};
using OwnedTree = Owned<git_tree, git_tree_free>;
using OwnedCommit = Owned<git_commit, git_commit_free>;
using OwnedBlob = Owned<git_blob, git_blob_free>;
using OwnedRef = Owned<git_reference, git_reference_free>;
using OwnedObject = Owned<git_object, git_object_free>;
using OwnedTag = Owned<git_tag, git_tag_free>;

constexpr uint64_t k_small_blob = 1024;  // LFS pointers are smaller
// Blobs up to this size are read whole to tell a manifest (a model of a
// hundred thousand tensors has a manifest of a few MiB); larger ones are
// streamed to the filter, which passes a manifest through unchanged.
constexpr uint64_t k_read_whole = 16 << 20;
constexpr const char* k_reflog_message = "zipllm migrate import";

// A ref to rewrite: its name, the commit it reaches, and the tag object on
// the way for an annotated tag.
struct RefTarget {
  std::string name;
  git_oid target{};  // what the ref points at (a commit or a tag object)
  git_oid commit{};
  bool annotated = false;
};

class Migration {
 public:
  Migration(Repo& repo, Filter& filter, const MigrateOptions& o)
      : m_repo(repo), m_git(repo.handle()), m_filter(filter), m_opts(o) {}

  Result<MigrateReport> run();

 private:
  Result<std::vector<RefTarget>> refs_to_walk();
  Status check_work_tree(const std::vector<RefTarget>& refs);
  Result<git_oid> rewrite_commit(const git_oid& id);
  // The tree's new id; `holds` is set when a matching file is in it,
  // `changed` when it is (or, in a dry run, would be) rewritten.
  Result<git_oid> rewrite_tree(const git_oid& id, const std::string& prefix, bool& holds,
                               bool& changed);
  Result<git_oid> convert_blob(const git_oid& id, const std::string& path, bool& changed);
  Result<git_oid> with_attributes(git_tree* root);
  Status move_ref(const RefTarget& ref);
  Status sync_work_tree();

  Repo& m_repo;
  git_repository* m_git;
  Filter& m_filter;
  const MigrateOptions& m_opts;
  MigrateReport m_report;
  std::string m_commit_hex;  // the commit being rewritten, for messages
  struct Rewritten {
    git_oid id;
    bool changed;
  };
  std::map<std::string, Rewritten> m_commits, m_blobs;
  struct TreeResult {
    git_oid id;
    bool holds;
    bool changed;
  };
  std::map<std::string, TreeResult> m_trees;  // by id + path
  std::set<std::string> m_counted;            // blobs counted in the report
};

Result<std::vector<RefTarget>> Migration::refs_to_walk() {
  std::vector<std::string> names;
  if (m_opts.everything) {
    git_reference_iterator* it = nullptr;
    if (git_reference_iterator_glob_new(&it, m_git, "refs/*") != 0) {
      return lib_error("cannot list the refs");
    }
    const char* name = nullptr;
    while (git_reference_next_name(&name, it) == 0) {
      std::string n = name;
      if (n.rfind("refs/heads/", 0) == 0 || n.rfind("refs/tags/", 0) == 0) {
        names.push_back(n);
      }
    }
    git_reference_iterator_free(it);
  } else if (m_opts.refs.empty()) {
    OwnedRef head;
    int rc = git_repository_head(&head.p, m_git);
    if (rc == GIT_EUNBORNBRANCH || rc == GIT_ENOTFOUND) {
      return make_error(Errc::InvalidArgument, "there are no commits to migrate yet");
    }
    if (rc != 0) {
      return lib_error("cannot read HEAD");
    }
    if (git_repository_head_detached(m_git) == 1) {
      return make_error(Errc::InvalidArgument,
                        "HEAD is detached: name the branches to migrate (git zipllm migrate "
                        "import BRANCH...) or use --everything");
    }
    names.push_back(git_reference_name(head.p));
  } else {
    for (const auto& given : m_opts.refs) {
      OwnedRef r;
      if (git_reference_dwim(&r.p, m_git, given.c_str()) != 0) {
        return make_error(Errc::InvalidArgument, "'" + given + "' is not a branch or tag");
      }
      OwnedRef resolved;
      if (git_reference_resolve(&resolved.p, r.p) != 0) {
        return lib_error("cannot resolve " + given);
      }
      std::string n = git_reference_name(resolved.p);
      if (n.rfind("refs/heads/", 0) != 0 && n.rfind("refs/tags/", 0) != 0) {
        return make_error(Errc::InvalidArgument,
                          "'" + given + "' is " + n + ", not a local branch or tag");
      }
      names.push_back(n);
    }
  }
  std::vector<RefTarget> out;
  std::set<std::string> seen;
  for (const auto& n : names) {
    if (!seen.insert(n).second) {
      continue;
    }
    OwnedRef r;
    if (git_reference_lookup(&r.p, m_git, n.c_str()) != 0 ||
        git_reference_type(r.p) != GIT_REFERENCE_DIRECT) {
      continue;  // a symbolic ref follows the one it names
    }
    RefTarget t;
    t.name = n;
    git_oid_cpy(&t.target, git_reference_target(r.p));
    OwnedObject commit;
    if (git_reference_peel(&commit.p, r.p, GIT_OBJECT_COMMIT) != 0) {
      continue;  // a tag of a tree or blob: nothing of ours
    }
    git_oid_cpy(&t.commit, git_object_id(commit.p));
    t.annotated = git_oid_cmp(&t.commit, &t.target) != 0;
    if (t.annotated) {
      OwnedTag tag;
      if (git_tag_lookup(&tag.p, m_git, &t.target) != 0 ||
          git_tag_target_type(tag.p) != GIT_OBJECT_COMMIT) {
        continue;  // a tag of a tag: left as it is
      }
    }
    out.push_back(t);
  }
  if (out.empty()) {
    return make_error(Errc::InvalidArgument, "no branch or tag to migrate");
  }
  return out;
}

// Rewriting the checked-out branch changes what the work tree should hold;
// with changes not committed, the result would mix the two.
Status Migration::check_work_tree(const std::vector<RefTarget>& refs) {
  if (git_repository_is_bare(m_git) == 1 || git_repository_head_detached(m_git) == 1) {
    return {};
  }
  OwnedRef head;
  if (git_repository_head(&head.p, m_git) != 0) {
    return {};
  }
  std::string branch = git_reference_name(head.p);
  bool rewrites_head = false;
  for (const auto& r : refs) {
    rewrites_head = rewrites_head || r.name == branch;
  }
  if (!rewrites_head) {
    return {};
  }
  auto st = TRY(run_git({"status", "--porcelain", "--untracked-files=no"}));
  if (st.status != 0) {
    return make_error(Errc::IoError,
                      "git status failed; cannot tell whether the work tree is clean");
  }
  auto changed = lines_of(st.output);
  if (!changed.empty()) {
    std::string list;
    for (size_t i = 0; i < changed.size() && i < 5; ++i) {
      list += "\n  " + changed[i].substr(changed[i].size() > 3 ? 3 : 0);
    }
    if (changed.size() > 5) {
      list += "\n  ... and " + std::to_string(changed.size() - 5) + " more";
    }
    // A run killed after moving the branch but before `git reset` leaves
    // the index of the old history: say so rather than "commit them".
    git_reflog* log = nullptr;
    if (git_reflog_read(&log, m_git, branch.c_str()) == 0) {
      const git_reflog_entry* top = git_reflog_entry_byindex(log, 0);
      const char* msg = top ? git_reflog_entry_message(top) : nullptr;
      std::string before = top ? hex(*git_reflog_entry_id_old(top)) : "";
      bool ours = msg && std::string(msg) == k_reflog_message;
      git_reflog_free(log);
      // ... and only if the index is still the commit it moved from.
      if (ours) {
        auto same = TRY(run_git({"diff", "--cached", "--quiet", before, "--"}));
        ours = same.status == 0;
      }
      if (ours) {
        return make_error(Errc::InvalidArgument,
                          "an earlier `git zipllm migrate import` moved " + branch +
                              " and stopped before updating the index; `git reset` finishes it "
                              "(the work tree's files are already right)");
      }
    }
    return make_error(Errc::InvalidArgument,
                      "the work tree has changes not committed (migrate rewrites the checked-out "
                      "branch " +
                          branch + "); commit or stash them first:" + list);
  }
  return {};
}

Result<git_oid> Migration::convert_blob(const git_oid& id, const std::string& path, bool& changed) {
  changed = false;
  if (auto it = m_blobs.find(key(id)); it != m_blobs.end()) {
    changed = it->second.changed;
    return it->second.id;
  }
  git_odb* odb = nullptr;
  if (git_repository_odb(&odb, m_git) != 0) {
    return lib_error("cannot open the object database");
  }
  std::unique_ptr<git_odb, decltype(&git_odb_free)> owned_odb(odb, git_odb_free);
  size_t size = 0;
  git_object_t type{};
  if (git_odb_read_header(&size, &type, odb, &id) != 0) {
    return lib_error(path + " in commit " + m_commit_hex.substr(0, 12) + ": cannot read blob " +
                     hex(id));
  }
  std::string where = path + " (commit " + m_commit_hex.substr(0, 12) + ")";
  std::string lfs_object;
  uint64_t disk = 0;
  if (size <= k_read_whole) {
    OwnedBlob b;
    if (git_blob_lookup(&b.p, m_git, &id) != 0) {
      return lib_error("cannot read " + where);
    }
    std::string_view text(static_cast<const char*>(git_blob_rawcontent(b.p)),
                          static_cast<size_t>(git_blob_rawsize(b.p)));
    if (text.rfind(format::k_manifest_magic, 0) == 0 && format::parse_manifest(std::string(text))) {
      ++m_report.already;
      m_blobs[key(id)] = {id, false};
      return id;
    }
    auto p = size <= k_small_blob ? parse_lfs_pointer(text) : std::nullopt;
    if (p) {
      lfs_object = m_repo.common_dir() + "/lfs/objects/" + p->oid.substr(0, 2) + "/" +
                   p->oid.substr(2, 2) + "/" + p->oid;
      struct stat st {};
      if (::stat(lfs_object.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) != p->size) {
        return make_error(Errc::NotFound,
                          where + " is a Git LFS pointer to sha256:" + p->oid +
                              ", whose object is not in .git/lfs/objects: run `git lfs fetch "
                              "--all` first (or leave the file out with --exclude)");
      }
      size = p->size;
      disk = p->size;
    }
  }
  std::string tmp_dir = TRY(m_filter.tmp_dir());
  TempFile spool = TRY(TempFile::create(tmp_dir, "migrate-"));
  if (!lfs_object.empty()) {
    Fd in = TRY(open_read(lfs_object));
    std::vector<uint8_t> buf(1 << 20);
    while (true) {
      size_t n = TRY(read_some(in.get(), buf, lfs_object));
      if (n == 0) {
        break;
      }
      TRY_STATUS(write_all(spool.fd(), std::span<const uint8_t>(buf.data(), n), spool.path()));
    }
  } else {
    int rc = TRY(run_git_to_fd({"cat-file", "blob", hex(id)}, spool.fd()));
    if (rc != 0) {
      return make_error(Errc::IoError, "git cat-file could not read " + where);
    }
  }
  uint64_t got = TRY(file_size(spool.fd(), spool.path()));
  if (got != size) {
    return make_error(Errc::IoError, where + ": read " + std::to_string(got) + " bytes of " +
                                         std::to_string(size));
  }
  ObjectId content_id = TRY(hash_file_range(spool.fd(), 0, size, spool.path()));
  std::string manifest;
  TRY_STATUS_CTX(m_filter.clean(path, spool, manifest, content_id),
                 "commit " + m_commit_hex.substr(0, 12));
  if (manifest.size() == size && manifest.rfind(format::k_manifest_magic, 0) == 0) {
    ++m_report.already;  // a manifest the filter passed through
    m_blobs[key(id)] = {id, false};
    return id;
  }
  if (!lfs_object.empty()) {
    // The LFS object must be the file its pointer names.
    auto m = format::parse_manifest(manifest);
    std::string oid = lfs_object.substr(lfs_object.rfind('/') + 1);
    if (m && Sha256::hex(m->sha256) != oid) {
      return make_error(Errc::Corrupt, where + ": the Git LFS object " + lfs_object +
                                           " is not the file its pointer names (its SHA-256 "
                                           "differs); run `git lfs fsck`");
    }
    ++m_report.lfs_pointers;
  }
  git_oid out = id;
  if (!m_opts.dry_run &&
      git_blob_create_from_buffer(&out, m_git, manifest.data(), manifest.size()) != 0) {
    return lib_error("cannot write the manifest of " + where);
  }
  ++m_report.files;
  m_report.raw_bytes += size;
  m_report.manifest_bytes += manifest.size();
  if (lfs_object.empty()) {
    auto d = TRY(run_git({"cat-file", "--batch-check=%(objectsize:disk)"}, hex(id) + "\n"));
    disk = std::strtoull(d.output.c_str(), nullptr, 10);
  }
  m_report.git_disk_bytes += disk;
  m_blobs[key(id)] = {out, true};
  changed = true;
  return out;
}

// The root tree with the .gitattributes lines for every include pattern
// that has none yet (after any other line: the last match wins).
Result<git_oid> Migration::with_attributes(git_tree* root) {
  std::string text;
  const git_tree_entry* e = git_tree_entry_byname(root, ".gitattributes");
  if (e && git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
    OwnedBlob b;
    if (git_blob_lookup(&b.p, m_git, git_tree_entry_id(e)) != 0) {
      return lib_error("cannot read .gitattributes of commit " + m_commit_hex);
    }
    text.assign(static_cast<const char*>(git_blob_rawcontent(b.p)),
                static_cast<size_t>(git_blob_rawsize(b.p)));
  }
  std::string added;
  for (const auto& pattern : m_opts.paths.include) {
    // A later line for the pattern that is not ours would win over ours.
    bool ours_last = false;
    size_t at = 0;
    while (at < text.size()) {
      size_t nl = text.find('\n', at);
      std::string line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
      std::string first = line.substr(0, line.find_first_of(" \t"));
      if (first == pattern) {
        ours_last = is_zipllm_line(line, pattern);
      }
      at = nl == std::string::npos ? text.size() : nl + 1;
    }
    if (!ours_last) {
      added += attribute_line(pattern) + "\n";
    }
  }
  if (added.empty()) {
    return *git_tree_id(root);
  }
  if (!text.empty() && text.back() != '\n') {
    text += '\n';
  }
  text += added;
  git_oid blob;
  if (git_blob_create_from_buffer(&blob, m_git, text.data(), text.size()) != 0) {
    return lib_error("cannot write .gitattributes");
  }
  git_treebuilder* b = nullptr;
  if (git_treebuilder_new(&b, m_git, root) != 0) {
    return lib_error("cannot rewrite a tree");
  }
  std::unique_ptr<git_treebuilder, decltype(&git_treebuilder_free)> owned(b, git_treebuilder_free);
  git_oid out;
  if (git_treebuilder_insert(nullptr, b, ".gitattributes", &blob, GIT_FILEMODE_BLOB) != 0 ||
      git_treebuilder_write(&out, b) != 0) {
    return lib_error("cannot rewrite a tree");
  }
  return out;
}

Result<git_oid> Migration::rewrite_tree(const git_oid& id, const std::string& prefix, bool& holds,
                                        bool& changed) {
  std::string memo = key(id) + prefix;
  if (auto it = m_trees.find(memo); it != m_trees.end()) {
    holds = it->second.holds;
    changed = it->second.changed;
    return it->second.id;
  }
  OwnedTree tree;
  if (git_tree_lookup(&tree.p, m_git, &id) != 0) {
    return lib_error("cannot read a tree of commit " + m_commit_hex);
  }
  holds = false;
  changed = false;
  std::vector<std::pair<const git_tree_entry*, git_oid>> edits;
  size_t n = git_tree_entrycount(tree.p);
  for (size_t i = 0; i < n; ++i) {
    const git_tree_entry* e = git_tree_entry_byindex(tree.p, i);
    std::string path = prefix + git_tree_entry_name(e);
    const git_oid* eid = git_tree_entry_id(e);
    git_filemode_t mode = git_tree_entry_filemode(e);
    git_oid now = *eid;
    bool sub_changed = false;
    if (mode == GIT_FILEMODE_TREE) {
      bool sub = false;
      now = TRY(rewrite_tree(*eid, path + "/", sub, sub_changed));
      holds = holds || sub;
    } else if ((mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE) &&
               m_opts.paths.allows(path)) {
      now = TRY(convert_blob(*eid, path, sub_changed));
      holds = true;
    }
    changed = changed || sub_changed;
    if (git_oid_cmp(&now, eid) != 0) {
      edits.emplace_back(e, now);
    }
  }
  git_oid out = id;
  if (!edits.empty() && !m_opts.dry_run) {
    git_treebuilder* b = nullptr;
    if (git_treebuilder_new(&b, m_git, tree.p) != 0) {
      return lib_error("cannot rewrite a tree");
    }
    std::unique_ptr<git_treebuilder, decltype(&git_treebuilder_free)> owned(b,
                                                                            git_treebuilder_free);
    for (const auto& [e, now] : edits) {
      if (git_treebuilder_insert(nullptr, b, git_tree_entry_name(e), &now,
                                 git_tree_entry_filemode(e)) != 0) {
        return lib_error("cannot rewrite a tree");
      }
    }
    if (git_treebuilder_write(&out, b) != 0) {
      return lib_error("cannot write a tree");
    }
  }
  if (prefix.empty() && holds && !m_opts.dry_run) {
    OwnedTree root;
    if (git_tree_lookup(&root.p, m_git, &out) != 0) {
      return lib_error("cannot read a tree of commit " + m_commit_hex);
    }
    out = TRY(with_attributes(root.p));
  }
  if (!m_opts.dry_run) {
    changed = git_oid_cmp(&out, &id) != 0;
  }
  m_trees[memo] = {out, holds, changed};
  return out;
}

Result<git_oid> Migration::rewrite_commit(const git_oid& id) {
  OwnedCommit c;
  if (git_commit_lookup(&c.p, m_git, &id) != 0) {
    return lib_error("cannot read commit " + hex(id));
  }
  m_commit_hex = hex(id);
  bool holds = false, tree_changed = false;
  git_oid tree = TRY(rewrite_tree(*git_commit_tree_id(c.p), "", holds, tree_changed));
  bool same = !tree_changed;
  unsigned np = git_commit_parentcount(c.p);
  std::vector<OwnedCommit> parents(np);
  std::vector<const git_commit*> parent_ptrs;
  for (unsigned i = 0; i < np; ++i) {
    git_oid pid = *git_commit_parent_id(c.p, i);
    auto it = m_commits.find(key(pid));
    git_oid now = it != m_commits.end() ? it->second.id : pid;
    same = same && (it == m_commits.end() || !it->second.changed);
    if (!m_opts.dry_run && git_commit_lookup(&parents[i].p, m_git, &now) != 0) {
      return lib_error("cannot read commit " + hex(now));
    }
    parent_ptrs.push_back(parents[i].p);
  }
  if (same) {
    m_commits[key(id)] = {id, false};
    return id;
  }
  ++m_report.commits_changed;
  if (m_opts.dry_run) {
    m_commits[key(id)] = {id, true};
    return id;
  }
  OwnedTree t;
  if (git_tree_lookup(&t.p, m_git, &tree) != 0) {
    return lib_error("cannot read the rewritten tree of " + m_commit_hex);
  }
  git_oid out;
  if (git_commit_create(&out, m_git, nullptr, git_commit_author(c.p), git_commit_committer(c.p),
                        git_commit_message_encoding(c.p), git_commit_message_raw(c.p), t.p, np,
                        parent_ptrs.data()) != 0) {
    return lib_error("cannot write the rewritten commit of " + m_commit_hex);
  }
  m_commits[key(id)] = {out, true};
  return out;
}

Status Migration::move_ref(const RefTarget& ref) {
  const Rewritten& r = m_commits.at(key(ref.commit));
  if (!r.changed) {
    return {};
  }
  git_oid commit = r.id;
  m_report.rewritten.push_back(ref.name);
  if (m_opts.dry_run) {
    return {};
  }
  git_oid target = commit;
  if (ref.annotated) {
    OwnedTag tag;
    OwnedObject obj;
    if (git_tag_lookup(&tag.p, m_git, &ref.target) != 0 ||
        git_object_lookup(&obj.p, m_git, &commit, GIT_OBJECT_COMMIT) != 0) {
      return lib_error("cannot read tag " + ref.name);
    }
    if (git_tag_annotation_create(&target, m_git, git_tag_name(tag.p), obj.p, git_tag_tagger(tag.p),
                                  git_tag_message(tag.p)) != 0) {
      return lib_error("cannot write tag " + ref.name);
    }
  }
  OwnedRef out;
  if (git_reference_create_matching(&out.p, m_git, ref.name.c_str(), &target, 1, &ref.target,
                                    k_reflog_message) != 0) {
    return lib_error("cannot move " + ref.name + " (did something else change it meanwhile?)");
  }
  return {};
}

// The index and .gitattributes of the new HEAD; the model files in the
// work tree already hold what the manifests restore.
Status Migration::sync_work_tree() {
  auto reset = TRY(run_git({"reset", "-q"}));
  if (reset.status != 0) {
    return make_error(Errc::IoError,
                      "history was rewritten, but `git reset` failed: run it to update the index");
  }
  auto co = TRY(run_git({"checkout", "HEAD", "--", ".gitattributes"}));
  if (co.status != 0) {
    return make_error(Errc::IoError,
                      "history was rewritten, but .gitattributes could not be checked out: run "
                      "`git checkout HEAD -- .gitattributes`");
  }
  (void)run_git({"update-index", "-q", "--refresh"});
  return {};
}

Result<MigrateReport> Migration::run() {
  auto refs = TRY(refs_to_walk());
  if (!m_opts.dry_run) {
    TRY_STATUS(check_work_tree(refs));
  }
  git_revwalk* walk = nullptr;
  if (git_revwalk_new(&walk, m_git) != 0) {
    return lib_error("cannot walk the history");
  }
  std::unique_ptr<git_revwalk, decltype(&git_revwalk_free)> owned(walk, git_revwalk_free);
  git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
  for (const auto& r : refs) {
    m_report.refs.push_back(r.name);
    if (git_revwalk_push(walk, &r.commit) != 0) {
      return lib_error("cannot walk " + r.name);
    }
  }
  std::vector<git_oid> order;
  git_oid id;
  while (git_revwalk_next(&id, walk) == 0) {
    order.push_back(id);
  }
  m_report.commits = order.size();
  Progress progress(m_opts.dry_run ? "migrate info" : "migrate import", order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    TRY(rewrite_commit(order[i]));
    progress.update(i + 1, i + 1, order.size(), "commits");
  }
  OwnedRef head;
  std::string head_branch;
  if (git_repository_head(&head.p, m_git) == 0 && git_repository_head_detached(m_git) != 1) {
    head_branch = git_reference_name(head.p);
  }
  for (const auto& r : refs) {
    TRY_STATUS(move_ref(r));
    if (r.name == head_branch && !m_report.rewritten.empty() &&
        m_report.rewritten.back() == r.name) {
      m_report.head_rewritten = true;
    }
  }
  if (!m_opts.dry_run && m_report.head_rewritten && git_repository_is_bare(m_git) != 1) {
    TRY_STATUS(sync_work_tree());
  }
  return m_report;
}

}  // namespace

Result<MigrateReport> migrate(Repo& repo, Filter& filter, const MigrateOptions& options) {
  MigrateOptions o = options;
  if (o.paths.include.empty()) {
    o.paths.include.push_back("*.safetensors");
  }
  Migration m(repo, filter, o);
  return m.run();
}

}  // namespace zipllm::git
