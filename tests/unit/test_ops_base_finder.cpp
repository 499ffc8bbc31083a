#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "helpers.h"
#include "ops/base_finder.h"
#include "ops/model_index.h"
#include "util/hash.h"

using namespace zipllm;

namespace {

// A two-tensor BF16 model from the given tensor data.
std::vector<uint8_t> bf16_model(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b,
                                const std::string& name_b = "b") {
  return test::make_safetensors(
      {{"a", "BF16", {a.size() / 2}, a}, {name_b, "BF16", {b.size() / 2}, b}});
}

// Same values, other places: the statistics of a model retrained from
// scratch, with nothing in common element by element.
std::vector<uint8_t> shuffled(const std::vector<uint8_t>& v, uint64_t seed) {
  std::vector<uint16_t> w(v.size() / 2);
  std::memcpy(w.data(), v.data(), v.size());
  std::shuffle(w.begin(), w.end(), std::mt19937_64(seed));
  std::vector<uint8_t> out(v.size());
  std::memcpy(out.data(), w.data(), out.size());
  return out;
}

struct Models {
  test::ScratchDir dir;
  store::Resolver resolver;
  std::vector<std::shared_ptr<const Fd>> keep;

  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) {
    std::string p = dir.path(name);
    test::write_file(p, bytes);
    return p;
  }

  // A candidate with the manifest of the file at `path`. `with_file`: the
  // finder may read that file; otherwise only the resolver has the bytes
  // (as a store would, decoding).
  ops::CandidateModel candidate(const std::string& path, bool with_file, int rank = 0) {
    auto f = ops::open_safetensors(path);
    REQUIRE(f);
    format::Manifest m;
    m.size = f->size;
    for (const auto& t : f->header.tensors) {
      std::vector<uint8_t> data(t.size());
      REQUIRE(read_exact_at(f->fd->get(), f->header.data_start() + t.begin, data, path));
      format::ManifestTensor mt{object_id_of(data), t};
      resolver.add_raw(mt.id, store::RawTensor{f->fd, f->header.data_start() + t.begin, t.size(),
                                               t.dtype, path});
      m.tensors.push_back(mt);
    }
    keep.push_back(f->fd);
    ops::CandidateModel c;
    c.name = path;
    c.shards.push_back(std::move(m));
    c.files.push_back(with_file ? path : "");
    c.rank = rank;
    return c;
  }
};

}  // namespace

TEST_CASE("base finder: the nearest relative wins, an unrelated model is ruled out") {
  Models ms;
  auto a = test::bf16_weights(20000, 1), b = test::bf16_weights(30000, 2);
  auto base = ms.write("base", bf16_model(a, b));
  auto far = ms.write(
      "far", bf16_model(test::bf16_finetune(a, 3, 0.05f), test::bf16_finetune(b, 4, 0.05f)));
  auto near_a = test::bf16_finetune(a, 5, 0.01f), near_b = test::bf16_finetune(b, 6, 0.01f);
  auto near = ms.write("near", bf16_model(near_a, near_b));
  auto unrelated = ms.write("unrelated", bf16_model(shuffled(a, 7), shuffled(b, 8)));
  // F: a fine-tune of `near` (so: near < base < far, unrelated not at all).
  auto f =
      ops::open_safetensors(ms.write("f", bf16_model(test::bf16_finetune(near_a, 9, 0.005f),
                                                     test::bf16_finetune(near_b, 10, 0.005f))));
  REQUIRE(f);
  std::vector<ops::CandidateModel> cs{ms.candidate(unrelated, true), ms.candidate(far, true),
                                      ms.candidate(base, true), ms.candidate(near, true)};
  auto ranking = ops::rank_bases(*f, cs, ms.resolver);
  REQUIRE(ranking);
  REQUIRE(ranking->size() == 4);
  CHECK(cs[(*ranking)[0].index].name == near);
  CHECK(cs[(*ranking)[1].index].name == base);
  CHECK(cs[(*ranking)[2].index].name == far);
  CHECK((*ranking)[0].related);
  CHECK((*ranking)[0].ratio < (*ranking)[1].ratio);
  CHECK((*ranking)[1].ratio < (*ranking)[2].ratio);
  const ops::BaseScore& last = (*ranking)[3];
  CHECK(cs[last.index].name == unrelated);
  CHECK_FALSE(last.related);
  CHECK(last.exponent_match < 0.5);
  CHECK(last.why_not.find("unrelated") != std::string::npos);
  CHECK((*ranking)[0].exponent_match > 0.6);
}

TEST_CASE("base finder: scores from a file and from the store agree; a stale file is not read") {
  Models ms;
  auto a = test::bf16_weights(20000, 1), b = test::bf16_weights(30000, 2);
  auto base = ms.write("base", bf16_model(a, b));
  auto f = ops::open_safetensors(
      ms.write("f", bf16_model(test::bf16_finetune(a, 3), test::bf16_finetune(b, 4))));
  REQUIRE(f);
  std::vector<ops::CandidateModel> cs{ms.candidate(base, true), ms.candidate(base, false)};
  // The second candidate's "file" now holds other bytes of another size:
  // it must be decoded, not read.
  auto stale = ms.write("stale", bf16_model(test::bf16_weights(100, 5), test::bf16_weights(7, 6)));
  cs[1].files[0] = stale;
  auto ranking = ops::rank_bases(*f, cs, ms.resolver);
  REQUIRE(ranking);
  REQUIRE(ranking->size() == 2);
  CHECK((*ranking)[0].related);
  CHECK((*ranking)[1].related);
  CHECK((*ranking)[0].ratio == doctest::Approx((*ranking)[1].ratio));
  CHECK((*ranking)[0].sampled == (*ranking)[1].sampled);
  // Equal scores: the caller's order decides (rank, then given order).
  CHECK((*ranking)[0].index == 0);
}

TEST_CASE("base finder: signature coverage counts same-name, same-dtype tensor bytes") {
  Models ms;
  auto a = test::bf16_weights(3000, 1), b = test::bf16_weights(1000, 2);
  auto f = ops::open_safetensors(ms.write("f", bf16_model(a, b)));
  REQUIRE(f);
  // Same names: everything. Tensor "b" renamed: only "a" (3/4 of the bytes).
  CHECK(ops::signature_coverage(f->header, ms.candidate(ms.write("same", bf16_model(a, b)),
                                                        true)) == doctest::Approx(1.0));
  auto renamed = ms.candidate(ms.write("renamed", bf16_model(a, b, "other")), true);
  CHECK(ops::signature_coverage(f->header, renamed) == doctest::Approx(0.75));
  // Another dtype under the same name does not count.
  auto f16 =
      ms.write("f16", test::make_safetensors({{"a", "F16", {3000}, a}, {"b", "BF16", {1000}, b}}));
  CHECK(ops::signature_coverage(f->header, ms.candidate(f16, true)) == doctest::Approx(0.25));
  // A grown leading dimension (vocabulary growth) still counts by name.
  auto grown = ms.write("grown", bf16_model(test::bf16_weights(2500, 3), b));
  CHECK(ops::signature_coverage(f->header, ms.candidate(grown, true)) == doctest::Approx(1.0));
}

TEST_CASE("base finder: too little in common is ruled out before sampling") {
  Models ms;
  auto a = test::bf16_weights(3000, 1), b = test::bf16_weights(1000, 2);
  auto f = ops::open_safetensors(ms.write("f", bf16_model(a, b)));
  REQUIRE(f);
  auto only_b = ms.write("only_b", test::make_safetensors({{"b", "BF16", {1000}, b}}));
  std::vector<ops::CandidateModel> cs{ms.candidate(only_b, true)};
  auto ranking = ops::rank_bases(*f, cs, ms.resolver);
  REQUIRE(ranking);
  CHECK_FALSE((*ranking)[0].related);
  CHECK((*ranking)[0].sampled == 0);
  CHECK((*ranking)[0].why_not.find("few tensors in common") != std::string::npos);
}

TEST_CASE("base finder: a shorter tensor (grown vocabulary) is compared on the common prefix") {
  Models ms;
  auto a = test::bf16_weights(20000, 1), b = test::bf16_weights(30000, 2);
  auto a_short = std::vector<uint8_t>(a.begin(), a.begin() + 2 * 15000);
  auto base = ms.write("base", bf16_model(a_short, b));
  auto f = ops::open_safetensors(
      ms.write("f", bf16_model(test::bf16_finetune(a, 3), test::bf16_finetune(b, 4))));
  REQUIRE(f);
  std::vector<ops::CandidateModel> cs{ms.candidate(base, false)};
  auto ranking = ops::rank_bases(*f, cs, ms.resolver);
  REQUIRE(ranking);
  CHECK((*ranking)[0].related);
  CHECK((*ranking)[0].ratio < 0.8);
}

namespace {

format::Manifest indexed_model(std::vector<std::pair<std::string, uint64_t>> tensors,
                               uint8_t sha_byte, format::Dtype dtype = format::Dtype::BF16) {
  format::Manifest m;
  uint64_t off = 0;
  for (auto& [name, size] : tensors) {
    format::ManifestTensor t;
    t.info.name = name;
    t.info.dtype = dtype;
    t.info.shape = {size / 2};
    t.info.begin = off;
    t.info.end = off += size;
    m.tensors.push_back(t);
  }
  m.size = off + 8 + 64;
  m.header_len = 64;
  m.sha256.fill(sha_byte);
  return m;
}

}  // namespace

TEST_CASE("model index: keys name the largest tensors by name and dtype, not by shape") {
  std::vector<std::pair<std::string, uint64_t>> ts;
  for (int i = 0; i < 20; ++i) {
    ts.emplace_back("t" + std::to_string(i), 1000 + 10 * i);
  }
  auto m = indexed_model(ts, 1);
  auto keys = ops::signature_keys(m);
  REQUIRE(keys.size() == ops::k_signature_keys);
  // The largest first: t19 … t12.
  CHECK(keys[0] == ops::signature_key(m.tensors[19].info));
  CHECK(keys[7] == ops::signature_key(m.tensors[12].info));
  // A grown leading dimension keeps the key; another dtype or name does not.
  format::TensorInfo grown = m.tensors[19].info;
  grown.shape[0] += 100;
  grown.end += 200;
  CHECK(ops::signature_key(grown) == keys[0]);
  format::TensorInfo other = m.tensors[19].info;
  other.dtype = format::Dtype::F16;
  CHECK(ops::signature_key(other) != keys[0]);
  other = m.tensors[19].info;
  other.name = "t19x";
  CHECK(ops::signature_key(other) != keys[0]);
}

TEST_CASE("model index: lookup finds the models sharing large tensors, most keys first") {
  test::ScratchDir dir;
  ops::ModelIndex index(dir.path("store"));
  std::vector<std::pair<std::string, uint64_t>> base;
  for (int i = 0; i < 12; ++i) {
    base.emplace_back("layer" + std::to_string(i), 4096);
  }
  auto a = indexed_model(base, 0xaa);
  // Four larger tensors of its own, then four of a's largest (layer0…3).
  auto half = base;
  for (size_t i = 8; i < 12; ++i) {
    half[i].first = "other" + std::to_string(i);
    half[i].second = 8192;
  }
  auto b = indexed_model(half, 0xbb);
  std::vector<std::pair<std::string, uint64_t>> foreign = {{"x", 9000}, {"y", 9000}};
  auto c = indexed_model(foreign, 0xcc);
  format::Manifest generic = a;
  generic.generic = true;
  generic.tensors.clear();
  generic.sha256.fill(0xdd);
  CHECK_FALSE(index.built());
  for (const auto* m : {&b, &a, &c, &generic}) {
    index.add(*m);
  }
  index.add(a);  // idempotent
  index.mark_built();
  CHECK(index.built());
  CHECK(index.has(a.sha256));
  CHECK_FALSE(index.has(generic.sha256));

  auto keys = ops::signature_keys(a);
  auto found = index.lookup(keys, 10);
  REQUIRE(found.size() == 2);  // a and b; not c, not the generic file
  CHECK(found[0].sha256 == a.sha256);
  CHECK(found[1].sha256 == b.sha256);
  CHECK(format::serialize_manifest(found[0]) == format::serialize_manifest(a));
  CHECK(index.lookup(keys, 1).size() == 1);
  auto c_keys = ops::signature_keys(c);
  REQUIRE(index.lookup(c_keys, 10).size() == 1);

  // A marker whose manifest is gone or damaged is skipped, not an error.
  REQUIRE(::unlink(dir.path("store/" + ops::model_key(b.sha256)).c_str()) == 0);
  CHECK(index.lookup(keys, 10).size() == 1);
  test::write_file(dir.path("store/" + ops::model_key(a.sha256)),
                   std::vector<uint8_t>{'n', 'o', 'p', 'e'});
  CHECK(index.lookup(keys, 10).empty());
}
