#include "store/closure.h"

#include <unordered_set>

#include "store/object_io.h"

namespace zipllm::store {

Result<std::vector<ObjectId>> object_closure(const ObjectSource& source,
                                             const std::vector<ObjectId>& roots,
                                             std::vector<ObjectId>* missing) {
  std::vector<ObjectId> out;
  std::unordered_set<ObjectId, ObjectIdHash> seen;
  std::vector<std::pair<ObjectId, ObjectId>> todo;  // (id, needed by)
  for (const auto& id : roots) {
    todo.emplace_back(id, ObjectId());
  }
  for (size_t i = 0; i < todo.size(); ++i) {
    auto [id, by] = todo[i];
    if (!seen.insert(id).second) {
      continue;
    }
    auto loc = TRY(source.locate(id));
    if (!loc && missing) {
      missing->push_back(id);
      continue;
    }
    if (!loc) {
      return make_error(Errc::NotFound,
                        "object " + id.hex() +
                            (by.is_zero() ? "" : " (delta base of " + by.hex() + ")") +
                            " is not in the local store");
    }
    auto reader = TRY(ObjectReader::open(*loc, id));
    out.push_back(id);
    if (reader.header().has_base()) {
      todo.emplace_back(reader.header().base_id, id);
    }
  }
  return out;
}

}  // namespace zipllm::store
