#include "git/lfs_message.h"

#include <nlohmann/json.hpp>

namespace zipllm::git {

namespace {

using nlohmann::json;

Error bad(const std::string& what) {
  return make_error(Errc::InvalidArgument, "malformed LFS message: " + what);
}

std::optional<std::string> string_field(const json& msg, const char* key) {
  auto it = msg.find(key);
  if (it == msg.end() || !it->is_string()) {
    return std::nullopt;
  }
  return it->get<std::string>();
}

}  // namespace

bool valid_lfs_oid(std::string_view oid) {
  return oid.size() == 64 && oid.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Result<LfsMessage> parse_lfs_message(std::string_view line) {
  if (line.size() > k_max_lfs_message) {
    return bad("line of " + std::to_string(line.size()) + " bytes");
  }
  json msg = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (msg.is_discarded() || !msg.is_object()) {
    return bad("not a JSON object");
  }
  LfsMessage m;
  auto event = string_field(msg, "event");
  if (!event) {
    return bad("no string \"event\"");
  }
  m.event_name = *event;
  if (*event == "init") {
    m.event = LfsMessage::Event::Init;
    m.operation = string_field(msg, "operation").value_or("");
    m.remote = string_field(msg, "remote").value_or("");
    return m;
  }
  if (*event == "terminate") {
    m.event = LfsMessage::Event::Terminate;
    return m;
  }
  if (*event != "upload" && *event != "download") {
    return m;  // Unknown: ignored by the caller
  }
  m.event = *event == "upload" ? LfsMessage::Event::Upload : LfsMessage::Event::Download;
  auto oid = string_field(msg, "oid");
  if (!oid || !valid_lfs_oid(*oid)) {
    return bad(*event + ": \"oid\" is not 64 lowercase hex digits");
  }
  m.oid = *oid;
  auto size = msg.find("size");
  if (size == msg.end() || !size->is_number_unsigned()) {
    return bad(*event + " " + m.oid + ": \"size\" is not a non-negative integer");
  }
  m.size = size->get<uint64_t>();
  if (m.event == LfsMessage::Event::Upload) {
    auto path = string_field(msg, "path");
    if (!path || path->empty()) {
      return bad("upload " + m.oid + ": no \"path\"");
    }
    m.path = *path;
  }
  auto action = msg.find("action");
  if (action != msg.end() && action->is_object()) {
    m.href = string_field(*action, "href");
    auto hdr = action->find("header");
    if (hdr != action->end() && hdr->is_object()) {
      for (auto it = hdr->begin(); it != hdr->end(); ++it) {
        if (it.value().is_string()) {
          m.headers.emplace_back(it.key(), it.value().get<std::string>());
        }
      }
    }
  }
  return m;
}

}  // namespace zipllm::git
