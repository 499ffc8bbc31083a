// Built by the architecture_layering test against zipllm_codec alone: an
// upward include (codec -> git) must not compile.
#include "codec/chunk.h"
#include "git/repo.h"

int main() {
  return 0;
}
