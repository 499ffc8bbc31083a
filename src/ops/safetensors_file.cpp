#include "ops/safetensors_file.h"

namespace zipllm::ops {

Result<SafetensorsFile> open_safetensors(const std::string& path) {
  SafetensorsFile f;
  f.path = path;
  Fd fd = TRY(open_read(path));
  f.size = TRY(file_size(fd.get(), path));
  f.prefix.resize(8);
  if (f.size >= 8) {
    TRY_STATUS(read_exact_at(fd.get(), 0, f.prefix, path));
  }
  uint64_t n = TRY_CTX(format::parse_header_length(f.prefix, f.size), path);
  f.header_json.resize(n);
  TRY_STATUS(read_exact_at(fd.get(), 8, f.header_json, path));
  f.header = TRY_CTX(format::parse_header(f.header_json, f.size), path);
  f.fd = std::make_shared<const Fd>(std::move(fd));
  return f;
}

}  // namespace zipllm::ops
