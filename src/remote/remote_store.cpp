#include "remote/remote_store.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
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

namespace {

Result<Fd> memory_file(const std::string& key) {
  int fd = ::memfd_create("git-zipllm", MFD_CLOEXEC);
  if (fd < 0) {
    return os_error("cannot create a memory file for", key, errno);
  }
  return Fd(fd);
}

}  // namespace

Status RemoteStore::put_text(const std::string& key, std::string_view text) {
  Fd fd = TRY(memory_file(key));
  TRY_STATUS(write_all(
      fd.get(),
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()), key));
  return put(key, fd.get(), 0, text.size(), nullptr);
}

Result<std::string> RemoteStore::get_text(const std::string& key, uint64_t max) {
  Fd fd = TRY(memory_file(key));
  TRY_STATUS(get(key, fd.get(), key, nullptr));
  uint64_t size = TRY(file_size(fd.get(), key));
  if (size > max) {
    return make_error(Errc::Corrupt, url() + ": " + key + " is " + std::to_string(size) +
                                         " bytes, more than the " + std::to_string(max) +
                                         " expected");
  }
  std::string out(size, '\0');
  TRY_STATUS(read_exact_at(
      fd.get(), 0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()), key));
  return out;
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
