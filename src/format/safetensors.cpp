#include "format/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace zipllm::format {

using nlohmann::json;

namespace {

Error bad(const std::string& msg) {
  return make_error(Errc::InvalidArgument, msg);
}

std::string quoted(const std::string& name) {
  return "tensor '" + name + "'";
}

Result<uint64_t> as_u64(const json& v, const std::string& what) {
  if (!v.is_number_unsigned()) {
    return bad(what + " is not a non-negative integer");
  }
  return v.get<uint64_t>();
}

Result<TensorInfo> parse_tensor(const std::string& name, const json& v) {
  std::string where = quoted(name);
  if (!v.is_object()) {
    return bad(where + ": entry is not a JSON object");
  }
  TensorInfo t;
  t.name = name;
  bool have_dtype = false, have_shape = false, have_offsets = false;
  for (const auto& [key, val] : v.items()) {
    if (key == "dtype") {
      if (!val.is_string()) {
        return bad(where + ": dtype is not a string");
      }
      const DtypeInfo* info = dtype_by_name(val.get_ref<const std::string&>());
      if (!info) {
        return bad(where + ": unknown dtype '" + val.get<std::string>() + "'");
      }
      t.dtype = info->dtype;
      have_dtype = true;
    } else if (key == "shape") {
      if (!val.is_array()) {
        return bad(where + ": shape is not an array");
      }
      for (const auto& d : val) {
        t.shape.push_back(TRY(as_u64(d, where + ": shape dimension")));
      }
      have_shape = true;
    } else if (key == "data_offsets") {
      if (!val.is_array() || val.size() != 2) {
        return bad(where + ": data_offsets is not a [begin, end] pair");
      }
      t.begin = TRY(as_u64(val[0], where + ": data_offsets begin"));
      t.end = TRY(as_u64(val[1], where + ": data_offsets end"));
      have_offsets = true;
    } else {
      return bad(where + ": unexpected key '" + key + "'");
    }
  }
  if (!have_dtype || !have_shape || !have_offsets) {
    return bad(where + ": needs dtype, shape and data_offsets");
  }
  if (t.begin > t.end) {
    return bad(where + ": data_offsets begin " + std::to_string(t.begin) + " is after end " +
               std::to_string(t.end));
  }
  // product(shape) * bits / 8 with overflow checks
  const DtypeInfo& info = dtype_info(t.dtype);
  unsigned __int128 bits = info.bits;
  for (uint64_t d : t.shape) {
    bits *= d;
    if (bits > (static_cast<unsigned __int128>(1) << 66)) {
      return bad(where + ": shape " + shape_string(t.shape) + " is too large");
    }
  }
  if (bits % 8 != 0) {
    return bad(where + ": shape " + shape_string(t.shape) + " of " + std::string(info.name) +
               " is not a whole number of bytes");
  }
  uint64_t expect = static_cast<uint64_t>(bits / 8);
  if (expect != t.size()) {
    return bad(where + ": shape " + shape_string(t.shape) + " of " + std::string(info.name) +
               " needs " + std::to_string(expect) + " bytes but data_offsets give " +
               std::to_string(t.size()));
  }
  return t;
}

}  // namespace

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) {
      s += ",";
    }
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

bool looks_like_safetensors(ByteView first9, uint64_t file_size) {
  if (first9.size() < 9 || file_size < 9) {
    return false;
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) {
    n = (n << 8) | first9[i];
  }
  // Not "fits in the file": a truncated safetensors file is malformed, and
  // must be reported as such rather than stored as something else.
  return n >= 2 && n <= (100ull << 20) && first9[8] == '{';
}

Result<uint64_t> parse_header_length(ByteView prefix8, uint64_t file_size) {
  if (file_size < 8 || prefix8.size() < 8) {
    return bad("file is " + std::to_string(file_size) +
               " bytes; a safetensors file starts with an 8-byte header length");
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) {
    n = (n << 8) | prefix8[static_cast<size_t>(i)];
  }
  if (n > k_max_header_size) {
    // Most often not a safetensors file at all: say what it looks like.
    std::string what;
    uint8_t c = prefix8[0];
    if (c == '{' || c == '[') {
      what = "it starts with '" + std::string(1, static_cast<char>(c)) +
             "', like JSON text (a config or index file?)";
    } else if (c == 'P' && prefix8[1] == 'K') {
      what = "it is a zip archive (a PyTorch .bin/.pt checkpoint?)";
    } else if (c == 0x80 && prefix8[1] <= 5) {
      what = "it is a Python pickle (a PyTorch checkpoint?)";
    } else if (c == 'G' && prefix8[1] == 'G' && prefix8[2] == 'U' && prefix8[3] == 'F') {
      what = "it is a GGUF model";
    } else if (std::all_of(prefix8.begin(), prefix8.begin() + 8,
                           [](uint8_t b) { return (b >= 0x20 && b < 0x7f) || b == '\n'; })) {
      what = "it starts with text";
    }
    if (!what.empty()) {
      return bad("not a safetensors file: " + what +
                 "; a safetensors file starts with an 8-byte header length, then a JSON header");
    }
    return bad("header length " + std::to_string(n) +
               " exceeds the 100 MB limit (not a safetensors file, or a damaged one)");
  }
  if (n > file_size - 8) {
    return bad("header length " + std::to_string(n) + " is larger than the " +
               std::to_string(file_size - 8) + " bytes after the length field (truncated file?)");
  }
  if (n < 2) {
    return bad("header length " + std::to_string(n) + " is too small for a JSON object");
  }
  return n;
}

Result<Header> parse_header(ByteView header_json, uint64_t file_size) {
  Header h;
  h.header_len = header_json.size();
  if (file_size < 8 + h.header_len) {
    return bad("file is shorter than its header");
  }
  h.data_size = file_size - 8 - h.header_len;
  if (header_json.empty() || header_json[0] != '{') {
    return bad("header does not start with '{'");
  }
  json doc = json::parse(header_json.begin(), header_json.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return bad("header is not valid JSON");
  }
  if (doc.size() > k_max_tensors) {
    return bad("header lists more than " + std::to_string(k_max_tensors) + " tensors");
  }
  h.tensors.reserve(doc.size());
  for (const auto& [key, val] : doc.items()) {
    if (key == "__metadata__") {
      if (!val.is_object()) {
        return bad("__metadata__ is not a JSON object");
      }
      for (const auto& [mk, mv] : val.items()) {
        if (!mv.is_string()) {
          return bad("__metadata__ value '" + mk + "' is not a string");
        }
      }
      continue;
    }
    h.tensors.push_back(TRY(parse_tensor(key, val)));
  }
  std::sort(h.tensors.begin(), h.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    if (a.begin != b.begin) {
      return a.begin < b.begin;
    }
    if (a.end != b.end) {
      return a.end < b.end;
    }
    return a.name < b.name;
  });
  uint64_t pos = 0;
  for (const auto& t : h.tensors) {
    if (t.end > h.data_size) {
      return bad(quoted(t.name) + ": data_offsets [" + std::to_string(t.begin) + "," +
                 std::to_string(t.end) + "] run past the " + std::to_string(h.data_size) +
                 "-byte data section");
    }
    if (t.begin < pos) {
      return bad(quoted(t.name) + ": data_offsets [" + std::to_string(t.begin) + "," +
                 std::to_string(t.end) + "] overlap the previous tensor, which ends at " +
                 std::to_string(pos));
    }
    if (t.begin > pos) {
      return bad(quoted(t.name) + ": gap of " + std::to_string(t.begin - pos) +
                 " bytes before it (data must be contiguous)");
    }
    pos = t.end;
  }
  h.tail_size = h.data_size - pos;
  return h;
}

}  // namespace zipllm::format
