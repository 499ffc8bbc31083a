#include "util/result.h"

namespace zipllm {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::InvalidArgument:
      return "invalid input";
    case Errc::NotFound:
      return "not found";
    case Errc::Corrupt:
      return "corrupt";
    case Errc::IoError:
      return "I/O error";
    case Errc::Unsupported:
      return "unsupported";
    case Errc::Unavailable:
      return "unavailable";
    case Errc::Internal:
      return "internal error";
  }
  return "error";
}

}  // namespace zipllm
