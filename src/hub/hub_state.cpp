// Where the hub's state lives: the directory, and with --store s3://… the
// shared bucket behind it (manifests, repository links, the signature
// index, objects fetched on first use); publishing a stored file there.
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "hub/responses.h"
#include "hub/service.h"
#include "ops/model_index.h"
#include "ops/restore.h"
#include "remote/transfer.h"
#include "store/closure.h"
#include "store/object_io.h"
#include "util/file.h"
#include "util/hash.h"

namespace zipllm::hub {

using namespace detail;

namespace {

// Models of the shared store's index considered when none here is related.
constexpr size_t k_max_shared = 2;

// Keeps a copy of what the shared store holds in the instance's directory
// (best effort: a cache, fetched again if lost).
void keep_copy(const std::string& path, std::string_view text) {
  if (make_dirs(path.substr(0, path.rfind('/')))) {
    if (auto f = AtomicFile::create(path, 0644, /*durable=*/false)) {
      if (f->write(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()))) {
        (void)f->commit(/*keep_existing=*/true);
      }
    }
  }
}

}  // namespace

const store::ObjectSource& Hub::source() const {
  if (m_fetch) {
    return *m_fetch;
  }
  return *m_reader;
}

std::string Hub::link_key(const std::string& repo, const std::string& oid) {
  return "hub/repos/" + repo + "/" + oid.substr(0, 2) + "/" + oid;
}

Result<std::vector<uint8_t>> Hub::manifest_bytes(const std::string& oid) const {
  auto bytes = read_whole_file(manifest_path(oid), format::k_max_manifest_size);
  if (bytes || !m_shared) {
    return bytes;
  }
  // Stored by another instance: kept here too (a cache of the shared one).
  auto text =
      TRY(m_shared->get_text(remote::RemoteStore::lfs_key(oid), format::k_max_manifest_size));
  keep_copy(manifest_path(oid), text);
  return std::vector<uint8_t>(text.begin(), text.end());
}

bool Hub::stored(const std::string& oid) const {
  return path_exists(manifest_path(oid)) || manifest_bytes(oid).ok();
}

Result<bool> Hub::linked(const std::string& repo, const std::string& oid) const {
  std::string marker = m_root + "/" + link_key(repo, oid);
  bool here = path_exists(marker);
  if (!here && m_shared) {
    here = TRY(m_shared->has(link_key(repo, oid)));
    if (here) {
      keep_copy(marker, "");
    }
  }
  if (!here || path_exists(pending_path(oid))) {
    return here;
  }
  auto m = manifest_bytes(oid);
  if (!m && m.error().code != Errc::NotFound) {
    return m.error();
  }
  return m.ok();
}

std::optional<uint64_t> Hub::stored_size(const std::string& oid) const {
  auto bytes = manifest_bytes(oid);
  if (bytes) {
    auto m = format::parse_manifest(std::string(bytes->begin(), bytes->end()));
    return m ? std::make_optional(m->size) : std::nullopt;
  }
  std::error_code ec;
  uint64_t size = std::filesystem::file_size(pending_path(oid), ec);
  return ec ? std::nullopt : std::make_optional(size);
}

Status Hub::link(const std::string& repo, const std::string& oid) {
  std::string dir = m_root + "/hub/repos/" + repo + "/" + oid.substr(0, 2);
  TRY_STATUS(make_dirs(dir));
  auto f = TRY(AtomicFile::create(dir + "/" + oid, 0644));
  TRY_STATUS(f.commit(/*keep_existing=*/true));
  if (m_shared) {
    TRY_STATUS(remote::with_retry(remote::default_transfer_options(""),
                                  [&] { return m_shared->put_text(link_key(repo, oid), ""); }));
  }
  return {};
}

std::vector<format::Manifest> Hub::shared_models(const std::vector<std::string>& keys) const {
  std::vector<format::Manifest> out;
  if (!m_shared) {
    return out;
  }
  ops::ModelIndex local(m_root);
  std::vector<std::vector<std::string>> per_key;
  for (const auto& key : keys) {
    auto names = m_shared->list(ops::index_prefix(key));
    if (!names) {
      return out;  // best effort: no base costs savings, never data
    }
    per_key.push_back(std::move(*names));
  }
  for (const auto& hex : ops::most_shared(per_key)) {
    auto sha = Sha256::from_hex(hex);
    if (out.size() >= k_max_shared || !sha || local.has(*sha)) {
      continue;
    }
    auto bytes = manifest_bytes(hex);
    auto m = bytes ? format::parse_manifest(std::string(bytes->begin(), bytes->end()))
                   : Result<format::Manifest>(bytes.error());
    if (m && !m->generic && m->sha256 == *sha) {
      out.push_back(std::move(*m));
    }
  }
  return out;
}

Status Hub::publish(const format::Manifest& m, const std::string& oid) {
  std::string text = format::serialize_manifest(m);
  if (m_shared) {
    // Objects first, then the signature index's markers, then the
    // manifest: the shared store never names data it lacks (every
    // instance relies on that), and every instance finds the model as a
    // base by content.
    auto ids = TRY(store::object_closure(source(), format::object_ids(m)));
    TRY(remote::upload_objects(source(), *m_shared, ids, remote::default_transfer_options("")));
    if (!m.generic) {
      for (const auto& key : ops::signature_keys(m)) {
        TRY_STATUS(remote::with_retry(remote::default_transfer_options(""), [&] {
          return m_shared->put_text(ops::index_prefix(key) + oid, "");
        }));
      }
    }
    TRY_STATUS(remote::with_retry(remote::default_transfer_options(""), [&] {
      return m_shared->put_text(remote::RemoteStore::lfs_key(oid), text);
    }));
  }
  std::string path = manifest_path(oid);
  TRY_STATUS(make_dirs(path.substr(0, path.rfind('/'))));
  auto out = TRY(AtomicFile::create(path, 0644));
  TRY_STATUS(out.write(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
  TRY_STATUS(out.commit(/*keep_existing=*/true));
  ops::ModelIndex(m_root).add(m);
  return {};
}

}  // namespace zipllm::hub
