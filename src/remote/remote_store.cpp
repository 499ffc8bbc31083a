#include "remote/remote_store.h"

#include <filesystem>

#include "remote/dir_remote.h"
#include "remote/s3_remote.h"

namespace zipllm::remote {

std::string RemoteStore::object_key(const ObjectId& id) {
  std::string h = id.hex();
  return "objects/" + h.substr(0, 2) + "/" + h.substr(2);
}

std::string RemoteStore::lfs_key(const std::string& oid) {
  return "lfs/" + oid.substr(0, 2) + "/" + oid.substr(2, 2) + "/" + oid;
}

Result<std::unique_ptr<RemoteStore>> open_remote(const std::string& url, const S3Settings& s3) {
  if (url.rfind("s3://", 0) == 0) {
    return std::unique_ptr<RemoteStore>(TRY(S3Remote::open(url, s3)));
  }
  std::string path = url;
  if (path.rfind("file://", 0) == 0) {
    path = path.substr(7);
  } else if (path.find("://") != std::string::npos) {
    return make_error(
        Errc::InvalidArgument,
        "unsupported store URL " + url + " (use s3://bucket/prefix, file:///path or a path)");
  }
  if (path.empty()) {
    return make_error(Errc::InvalidArgument, "empty store URL");
  }
  std::error_code ec;
  std::string abs = std::filesystem::absolute(path, ec).lexically_normal().string();
  while (abs.size() > 1 && abs.back() == '/') {
    abs.pop_back();
  }
  return std::unique_ptr<RemoteStore>(TRY(DirRemote::open(url, ec ? path : abs)));
}

}  // namespace zipllm::remote
