// Built by the architecture_layering test against zipllm_codec alone: the
// layers below codec are visible.
#include "codec/chunk.h"
#include "format/dtype.h"
#include "util/result.h"

int main() {
  return 0;
}
