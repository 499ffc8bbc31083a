#include "format/manifest.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace zipllm::format {

namespace {

Error bad(const std::string& msg) {
  return make_error(Errc::InvalidArgument, "manifest: " + msg);
}

std::string json_quote(const std::string& s) {
  return nlohmann::json(s).dump();
}

// Splits off the next space-separated field.
bool next_field(std::string_view& line, std::string_view& field) {
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos) {
    field = line;
    line = {};
  } else {
    field = line.substr(0, sp);
    line = line.substr(sp + 1);
  }
  return !field.empty();
}

bool parse_dec(std::string_view s, uint64_t& v) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_id(std::string_view s, ObjectId& id) {
  auto r = ObjectId::from_hex(s);
  if (!r) {
    return false;
  }
  id = *r;
  return true;
}

bool parse_shape(std::string_view s, std::vector<uint64_t>& shape) {
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') {
    return false;
  }
  s = s.substr(1, s.size() - 2);
  while (!s.empty()) {
    size_t comma = s.find(',');
    uint64_t d;
    if (!parse_dec(s.substr(0, comma), d)) {
      return false;
    }
    shape.push_back(d);
    if (comma == std::string_view::npos) {
      break;
    }
    s = s.substr(comma + 1);
    if (s.empty()) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string serialize_manifest(const Manifest& m) {
  std::string out(k_manifest_magic);
  out += "size " + std::to_string(m.size) + "\n";
  out += "sha256 " + to_hex(m.sha256) + "\n";
  if (m.generic) {
    out += "generic\n";
    for (const auto& d : m.data) {
      out += "data " + d.id.hex() + " " + std::to_string(d.len) + "\n";
    }
    return out;
  }
  out += "header " + m.header_id.hex() + " " + std::to_string(m.header_len) + "\n";
  for (const auto& t : m.tensors) {
    out += "tensor " + t.id.hex() + " " + std::string(dtype_info(t.info.dtype).name) + " " +
           shape_string(t.info.shape) + " " + std::to_string(t.info.begin) + " " +
           std::to_string(t.info.end) + " " + json_quote(t.info.name) + "\n";
  }
  if (m.has_tail) {
    out += "tail " + m.tail_id.hex() + " " + std::to_string(m.tail_len) + "\n";
  }
  return out;
}

std::vector<ObjectId> object_ids(const Manifest& m) {
  if (m.generic) {
    std::vector<ObjectId> ids;
    for (const auto& d : m.data) {
      ids.push_back(d.id);
    }
    return ids;
  }
  std::vector<ObjectId> ids = {m.header_id};
  for (const auto& t : m.tensors) {
    ids.push_back(t.id);
  }
  if (m.has_tail) {
    ids.push_back(m.tail_id);
  }
  return ids;
}

bool looks_like_manifest(ByteView data) {
  return data.size() >= k_manifest_magic.size() &&
         std::string_view(reinterpret_cast<const char*>(data.data()), k_manifest_magic.size()) ==
             k_manifest_magic;
}

Result<Manifest> parse_manifest(std::string_view text) {
  if (text.size() > k_max_manifest_size) {
    return bad("larger than " + std::to_string(k_max_manifest_size) + " bytes");
  }
  if (!looks_like_manifest(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()))) {
    return bad("does not start with '" + std::string(k_manifest_magic.substr(0, 18)) + "'");
  }
  Manifest m;
  std::string_view rest = text.substr(k_manifest_magic.size());
  size_t line_no = 1;
  bool have_size = false, have_sha = false, have_header = false;
  while (!rest.empty()) {
    ++line_no;
    size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) {
      return bad("line " + std::to_string(line_no) + " has no newline");
    }
    std::string_view line = rest.substr(0, nl);
    rest = rest.substr(nl + 1);
    std::string where = "line " + std::to_string(line_no);
    std::string_view key, f1, f2;
    next_field(line, key);
    if (m.has_tail) {
      return bad(where + ": nothing may follow the tail line");
    }
    if (key == "size" && line_no == 2) {
      if (!parse_dec(line, m.size)) {
        return bad(where + ": bad size");
      }
      have_size = true;
    } else if (key == "sha256" && line_no == 3) {
      std::vector<uint8_t> tmp;
      if (line.size() != 64) {
        return bad(where + ": bad sha256");
      }
      for (size_t i = 0; i < 32; ++i) {
        auto hexval = [](char c) -> int {
          return (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        };
        int hi = hexval(line[2 * i]), lo = hexval(line[2 * i + 1]);
        if (hi < 0 || lo < 0) {
          return bad(where + ": bad sha256");
        }
        m.sha256[i] = static_cast<uint8_t>(hi * 16 + lo);
      }
      have_sha = true;
    } else if (key == "header" && line_no == 4) {
      if (!next_field(line, f1) || !parse_id(f1, m.header_id) || !parse_dec(line, m.header_len)) {
        return bad(where + ": bad header line");
      }
      have_header = true;
    } else if (key == "generic" && line_no == 4 && line.empty()) {
      m.generic = true;
    } else if (key == "data" && m.generic) {
      DataPart d;
      if (!next_field(line, f1) || !parse_id(f1, d.id) || !parse_dec(line, d.len) || d.len == 0) {
        return bad(where + ": bad data line");
      }
      m.data.push_back(d);
    } else if (key == "tensor" && have_header) {
      ManifestTensor t;
      std::string_view dtype, shape, begin, end;
      if (!next_field(line, f1) || !parse_id(f1, t.id) || !next_field(line, dtype) ||
          !next_field(line, shape) || !next_field(line, begin) || !next_field(line, end)) {
        return bad(where + ": bad tensor line");
      }
      const DtypeInfo* dt = dtype_by_name(dtype);
      if (!dt || !parse_shape(shape, t.info.shape) || !parse_dec(begin, t.info.begin) ||
          !parse_dec(end, t.info.end) || t.info.end < t.info.begin) {
        return bad(where + ": bad tensor line");
      }
      t.info.dtype = dt->dtype;
      nlohmann::json name = nlohmann::json::parse(line, nullptr, false);
      if (name.is_discarded() || !name.is_string()) {
        return bad(where + ": tensor name is not a JSON string");
      }
      t.info.name = name.get<std::string>();
      m.tensors.push_back(std::move(t));
    } else if (key == "tail" && have_header) {
      if (!next_field(line, f1) || !parse_id(f1, m.tail_id) || !parse_dec(line, m.tail_len) ||
          m.tail_len == 0) {
        return bad(where + ": bad tail line");
      }
      m.has_tail = true;
    } else {
      return bad(where + ": unexpected '" + std::string(key) + "'");
    }
  }
  if (!have_size || !have_sha || (!have_header && !m.generic)) {
    return bad("missing size, sha256 or header line");
  }
  if (m.generic) {
    uint64_t total = 0;
    for (const auto& d : m.data) {
      if (d.len > m.size - total) {
        return bad("data parts exceed the size");
      }
      total += d.len;
    }
    if (total != m.size) {
      return bad("data parts do not add up to the size");
    }
  }
  if (serialize_manifest(m) != text) {
    return bad("not in canonical form");
  }
  return m;
}

}  // namespace zipllm::format
