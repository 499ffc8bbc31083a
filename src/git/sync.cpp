#include "git/sync.h"

#include <charconv>
#include <set>
#include <sstream>

#include "git/git_command.h"
#include "ops/model_index.h"

namespace zipllm::git {

namespace {

// Manifests are small text; anything larger is not worth reading.
constexpr uint64_t k_manifest_read_limit = 64ull << 20;

Result<std::optional<format::Manifest>> manifest_blob(Repo& repo, const std::string& hex) {
  auto text = TRY(repo.blob_by_id(hex, k_manifest_read_limit));
  if (!text || !format::looks_like_manifest(std::span<const uint8_t>(
                   reinterpret_cast<const uint8_t*>(text->data()), text->size()))) {
    return std::optional<format::Manifest>();
  }
  auto m = format::parse_manifest(*text);
  if (!m) {
    return std::move(m).error().context("blob " + hex);
  }
  return std::optional<format::Manifest>(std::move(*m));
}

}  // namespace

Result<std::vector<format::Manifest>> manifests_in_history(
    Repo& repo, const std::vector<std::string>& rev_args) {
  std::vector<std::string> args = {"rev-list", "--objects", "--ignore-missing"};
  args.insert(args.end(), rev_args.begin(), rev_args.end());
  auto listed = TRY(run_git(args));
  if (listed.status != 0) {
    return make_error(Errc::IoError,
                      "git rev-list failed (exit " + std::to_string(listed.status) + ")");
  }
  // Only blobs can be manifests: ask git for types and sizes in one go.
  std::string ids;
  for (const auto& line : lines_of(listed.output)) {
    ids += line.substr(0, line.find(' ')) + "\n";
  }
  std::vector<format::Manifest> out;
  if (ids.empty()) {
    return out;
  }
  auto checked =
      TRY(run_git({"cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"}, ids));
  std::set<std::string> seen;
  for (const auto& line : lines_of(checked.output)) {
    std::istringstream in(line);
    std::string hex, type;
    uint64_t size = 0;
    in >> hex >> type >> size;
    if (type != "blob" || size < format::k_manifest_magic.size() || size > k_manifest_read_limit ||
        !seen.insert(hex).second) {
      continue;
    }
    if (auto m = TRY(manifest_blob(repo, hex))) {
      out.push_back(std::move(*m));
    }
  }
  return out;
}

Result<std::vector<TreeBlob>> ls_tree(const std::string& ref) {
  auto listed = TRY(run_git({"ls-tree", "-r", "-l", "-z", ref}));
  if (listed.status != 0) {
    return make_error(Errc::InvalidArgument, "cannot list the files of '" + ref + "'");
  }
  std::vector<TreeBlob> out;
  const std::string& o = listed.output;
  for (size_t pos = 0; pos < o.size();) {
    size_t end = std::min(o.find('\0', pos), o.size());
    std::string entry = o.substr(pos, end - pos);
    pos = end + 1;
    size_t tab = entry.find('\t');
    std::istringstream in(entry.substr(0, tab));
    std::string mode, type, hex, size_text;
    in >> mode >> type >> hex >> size_text;
    if (tab != std::string::npos && type == "blob") {
      uint64_t size = 0;
      if (size_text != "-") {
        auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
        if (ec != std::errc() || p != size_text.data() + size_text.size()) {
          return make_error(Errc::Internal,
                            "git ls-tree gave an unreadable size '" + size_text + "'");
        }
      }
      out.push_back({entry.substr(tab + 1), hex, size});
    }
  }
  return out;
}

std::vector<ObjectId> distinct_object_ids(const std::vector<format::Manifest>& manifests) {
  std::vector<ObjectId> ids;
  std::set<ObjectId> seen;
  for (const auto& m : manifests) {
    for (const auto& id : format::object_ids(m)) {
      if (seen.insert(id).second) {
        ids.push_back(id);
      }
    }
  }
  return ids;
}

Result<std::vector<TreeManifest>> manifests_in_trees(Repo& repo,
                                                     const std::vector<std::string>& refs) {
  std::vector<TreeManifest> out;
  std::set<std::string> seen;
  for (const auto& ref : refs) {
    for (const auto& b : TRY(ls_tree(ref))) {
      if (b.size < format::k_manifest_magic.size() || b.size > k_manifest_read_limit ||
          !seen.insert(b.hex).second) {
        continue;
      }
      if (auto m = TRY(manifest_blob(repo, b.hex))) {
        out.push_back({b.path, std::move(*m)});
      }
    }
  }
  return out;
}

Result<std::vector<ObjectId>> needed_objects(const ModelStore& store,
                                             const std::vector<format::Manifest>& manifests) {
  return store::object_closure(*store.local, distinct_object_ids(manifests));
}

Result<remote::TransferStats> upload_manifests(ModelStore& store, remote::RemoteStore& remote,
                                               const std::vector<format::Manifest>& manifests,
                                               const remote::TransferOptions& opts) {
  auto ids = needed_objects(store, manifests);
  if (!ids) {
    return std::move(ids).error().context(
        "cannot push: a manifest refers to data this repository does not have (run `git zipllm "
        "fetch` first, or `git zipllm verify`)");
  }
  auto st = TRY(remote::upload_objects(*store.local, remote, *ids, opts));
  TRY_STATUS(publish_models(remote, manifests));
  return st;
}

Status publish_models(remote::RemoteStore& remote, const std::vector<format::Manifest>& manifests,
                      bool in_lfs) {
  std::set<std::array<uint8_t, 32>> done;
  for (const auto& m : manifests) {
    if (m.generic || m.tensors.empty() || !done.insert(m.sha256).second) {
      continue;
    }
    std::string hex = Sha256::hex(m.sha256);
    std::string key = in_lfs ? remote::RemoteStore::lfs_key(hex) : ops::model_key(m.sha256);
    TRY_STATUS(remote::with_retry(remote::default_transfer_options(""), [&]() -> Status {
      if (TRY(remote.has(key))) {
        return {};
      }
      for (const auto& sig : ops::signature_keys(m)) {
        TRY_STATUS(remote.put_text(ops::index_prefix(sig) + hex, ""));
      }
      return in_lfs ? Status{} : remote.put_text(key, format::serialize_manifest(m));
    }));
  }
  return {};
}

Result<remote::TransferStats> prefetch(ModelStore& store,
                                       const std::vector<format::Manifest>& manifests,
                                       const remote::TransferOptions& opts) {
  std::vector<ObjectId> want = distinct_object_ids(manifests);
  remote::TransferStats total;
  for (const auto& up : store.source->upstreams()) {
    auto st = remote::download_closure(*up, *store.local, want, opts, /*skip_missing=*/true);
    if (!st) {
      return std::move(st).error();
    }
    total.objects += st->objects;
    total.bytes += st->bytes;
    want = st->missing;
    if (want.empty()) {
      break;
    }
  }
  total.missing = std::move(want);
  // What no upstream had may still be local already (download_closure
  // counts those as present, not missing): keep only the truly absent.
  std::erase_if(total.missing, [&](const ObjectId& id) { return store.local->contains(id); });
  return total;
}

std::vector<std::string> pre_push_rev_args(const std::string& stdin_text,
                                           const std::string& remote) {
  static const std::string zero(40, '0');
  std::vector<std::string> pos, neg;
  for (const auto& line : lines_of(stdin_text)) {
    std::istringstream in(line);
    std::string local_ref, local_sha, remote_ref, remote_sha;
    in >> local_ref >> local_sha >> remote_ref >> remote_sha;
    if (local_sha.empty() || local_sha == zero) {
      continue;  // a deletion pushes nothing
    }
    pos.push_back(local_sha);
    if (!remote_sha.empty() && remote_sha != zero) {
      neg.push_back(remote_sha);
    }
  }
  if (pos.empty()) {
    return {};
  }
  std::vector<std::string> args = pos;
  args.push_back("--not");
  args.insert(args.end(), neg.begin(), neg.end());
  if (!remote.empty() && remote.find('/') == std::string::npos &&
      remote.find(':') == std::string::npos) {
    args.push_back("--remotes=" + remote);
  }
  return args;
}

}  // namespace zipllm::git
