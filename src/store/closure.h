// The delta-base closure of a set of objects: what must be present for
// every one of them to be decoded.
#pragma once

#include <vector>

#include "store/object_source.h"

namespace zipllm::store {

// Every object reachable from `roots` through delta bases, each once, bases
// after the objects that need them. All must be in `source`; a missing one
// is a NotFound error naming it and what needed it, unless `missing` is
// given: then it collects them (their bases, unknowable, are not followed).
Result<std::vector<ObjectId>> object_closure(const ObjectSource& source,
                                             const std::vector<ObjectId>& roots,
                                             std::vector<ObjectId>* missing = nullptr);

}  // namespace zipllm::store
