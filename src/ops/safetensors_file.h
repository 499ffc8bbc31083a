// Opening a safetensors file on disk: length prefix, header JSON, parsed
// header. Errors name the path.
#pragma once

#include <memory>

#include "format/safetensors.h"
#include "util/file.h"

namespace zipllm::ops {

struct SafetensorsFile {
  std::string path;
  std::shared_ptr<const Fd> fd;
  uint64_t size = 0;
  std::vector<uint8_t> prefix;       // the 8 length bytes
  std::vector<uint8_t> header_json;  // exactly N bytes
  format::Header header;
};

Result<SafetensorsFile> open_safetensors(const std::string& path);

}  // namespace zipllm::ops
