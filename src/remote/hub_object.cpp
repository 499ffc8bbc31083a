#include "remote/hub_object.h"

#include <nlohmann/json.hpp>

#include "remote/http.h"

namespace zipllm::remote {

namespace {

using nlohmann::json;

Error unsupported(const std::string& what) {
  return make_error(Errc::Unsupported, what + " is not part of the hub's zipllm adapter");
}

}  // namespace

HubObject::HubObject(std::string href, std::vector<std::pair<std::string, std::string>> headers)
    : m_href(std::move(href)), m_headers(std::move(headers)) {
  while (!m_href.empty() && m_href.back() == '/') {
    m_href.pop_back();
  }
}

Result<std::string> HubObject::exchange(const std::string& method, const std::string& url,
                                        Body body, int out_fd, const std::string& out_name,
                                        const ByteCounter& counter, long stall_seconds) {
  http::Request req;
  req.method = method;
  req.url = url;
  req.headers = m_headers;
  if (!body.text.empty()) {
    req.headers.emplace_back("Content-Type", "application/json");
  }
  req.body = std::move(body.text);
  req.in_fd = body.fd;
  req.in_offset = body.offset;
  req.in_length = body.length;
  req.out_fd = out_fd;
  req.out_name = out_name;
  req.counter = counter;
  req.stall_seconds = stall_seconds;
  auto resp = TRY(http::perform(req));
  if (resp.status >= 200 && resp.status < 300) {
    return std::move(resp.body);
  }
  std::string detail;
  json j = json::parse(resp.body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    detail = j["message"];
  }
  std::string what = method + " " + url + ": HTTP " + std::to_string(resp.status) +
                     (detail.empty() ? "" : " (" + detail + ")");
  Errc code = resp.status == 404                                               ? Errc::NotFound
              : resp.status >= 500 || resp.status == 429 || resp.status == 408 ? Errc::Unavailable
              : resp.status == 422                                             ? Errc::Corrupt
                                   : Errc::InvalidArgument;
  if (resp.status == 507) {
    code = Errc::IoError;  // full: retrying will not help
  }
  return make_error(code, what);
}

Result<bool> HubObject::has(const std::string& key) {
  return unsupported("asking for " + key);
}

Status HubObject::put(const std::string& key, int, uint64_t, uint64_t, const ByteCounter&) {
  return unsupported("writing " + key);
}

Status HubObject::get(const std::string& key, int, const std::string&, const ByteCounter&) {
  return unsupported("reading " + key);
}

Result<std::optional<uint64_t>> HubObject::object_size(const ObjectId& id) {
  if (m_missing.count(id)) {
    return std::optional<uint64_t>();
  }
  return std::optional<uint64_t>(0);
}

Status HubObject::put_object(const ObjectId& id, const store::ObjectLocation& loc,
                             const ByteCounter& counter) {
  TRY(exchange("PUT", m_href + "/objects/" + id.hex(), {"", loc.fd->get(), loc.offset, loc.length},
               -1, "", counter));
  return {};
}

Status HubObject::get_object(const ObjectId& id, int fd, const std::string& fd_name,
                             const ByteCounter& counter) {
  TRY(exchange("GET", m_href + "/objects/" + id.hex(), {}, fd, fd_name, counter));
  return {};
}

Result<RemoteStore::PruneStats> HubObject::prune(
    const std::function<bool(const ObjectId&)>&, std::chrono::system_clock::time_point, bool,
    const std::function<void(const ObjectId&, uint64_t)>&) {
  return unsupported("pruning");
}

Result<std::vector<std::string>> HubObject::lfs_oids() {
  return unsupported("listing LFS objects");
}

Result<std::vector<std::string>> HubObject::list(const std::string& prefix) {
  return unsupported("listing " + prefix);
}

Result<std::vector<ObjectId>> HubObject::missing(const std::vector<ObjectId>& ids) {
  json req = {{"objects", json::array()}};
  for (const auto& id : ids) {
    req["objects"].push_back(id.hex());
  }
  std::string body = TRY(exchange("POST", m_href + "/missing", {req.dump()}));
  json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("missing") || !j["missing"].is_array()) {
    return make_error(Errc::Corrupt, m_href + "/missing: the hub's answer is not {\"missing\"}");
  }
  std::vector<ObjectId> out;
  for (const auto& m : j["missing"]) {
    auto id = m.is_string() ? ObjectId::from_hex(m.get<std::string>()) : std::nullopt;
    if (!id) {
      return make_error(Errc::Corrupt, m_href + "/missing: not an object id: " + m.dump());
    }
    m_missing.insert(*id);
    out.push_back(*id);
  }
  return out;
}

Status HubObject::commit(const std::string& manifest_text) {
  // The hub rebuilds the whole file before it answers: silence for as long
  // as that takes is no stall.
  TRY(exchange("POST", m_href + "/commit", {manifest_text}, -1, "", {}, /*stall_seconds=*/0));
  return {};
}

Result<std::optional<std::string>> HubObject::manifest() {
  auto got = exchange("GET", m_href + "/manifest", {});
  if (!got && got.error().code == Errc::NotFound) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(TRY(std::move(got)));
}

Status HubObject::get_whole(int fd, const std::string& fd_name, const ByteCounter& counter) {
  TRY(exchange("GET", m_href, {}, fd, fd_name, counter));
  return {};
}

}  // namespace zipllm::remote
