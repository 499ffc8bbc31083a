// git zipllm verify: decode every object in the store and check it against
// its id (every chunk against its checksums on the way), and check that
// every tracked model's manifest in the index has all its objects.
#include "cli/commands.h"
#include "git/base_resolution.h"
#include "git/model_store.h"

#include <cstdio>

namespace zipllm::cli {

namespace {

Status verify_object(const store::Resolver& r, const ObjectId& id, uint64_t& bytes) {
  store::ObjectReader reader = TRY(r.open(id));
  IdHasher hasher;
  for (uint32_t i = 0; i < reader.header().chunk_count(); ++i) {
    auto raw = TRY(r.decode_chunk(reader, i));
    hasher.update(raw);
    bytes += raw.size();
  }
  if (hasher.finish() != id) {
    return make_error(Errc::Corrupt, "object " + id.hex() + " decodes to bytes with a different hash");
  }
  return {};
}

Status run() {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open(repo));
  auto ids = store->local->list_ids();
  size_t bad = 0;
  uint64_t bytes = 0;
  for (const auto& id : ids) {
    Status s = verify_object(store->resolver, id, bytes);
    if (!s) {
      std::fprintf(stderr, "git-zipllm: verify: %s\n", s.error().message.c_str());
      ++bad;
    }
  }
  size_t missing = 0, files = 0;
  for (const auto& p : TRY(repo.tracked_paths())) {
    auto m = TRY(git::stored_manifest(repo, p));
    if (!m) {
      continue;
    }
    ++files;
    for (const auto& id : format::object_ids(*m)) {
      if (!store->resolver.contains(id)) {
        std::fprintf(stderr, "git-zipllm: verify: %s needs object %s, which is missing\n", p.c_str(),
                     id.hex().c_str());
        ++missing;
      }
    }
  }
  std::printf("verified %zu objects (%s raw), %zu corrupt; %zu tracked files, %zu missing objects\n",
              ids.size(), human_bytes(bytes).c_str(), bad, files, missing);
  if (bad || missing) {
    return make_error(bad ? Errc::Corrupt : Errc::NotFound, "the store has problems (see above)");
  }
  return {};
}

}  // namespace

std::vector<Runner> add_verify(CLI::App& app) {
  app.add_subcommand("verify", "Decode every stored object and check it; report missing objects");
  return {[] {
    Status s = run();
    return s ? 0 : fail(s.error().context("verify"));
  }};
}

}  // namespace zipllm::cli
