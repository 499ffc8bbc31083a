#include "ops/base_finder.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "codec/words.h"
#include "format/object.h"

namespace zipllm::ops {

namespace {

// One block of F to compare: tensor, offset and length in bytes.
struct Sample {
  const format::TensorInfo* tensor;
  uint64_t offset;
  uint64_t length;
  double solo_bits;  // estimated bits per element of this block alone
};

bool sampleable(const format::DtypeInfo& dt) {
  return dt.bits % 8 == 0 && (dt.word == 1 || dt.word == 2 || dt.word == 4 || dt.word == 8) &&
         dt.bits == dt.word * 8;
}

uint64_t word_at(const uint8_t* p, unsigned word) {
  switch (word) {
    case 1:
      return *p;
    case 2:
      return codec::load_word<uint16_t>(p);
    case 4:
      return codec::load_word<uint32_t>(p);
    default:
      return codec::load_word<uint64_t>(p);
  }
}

// The codec's order-preserving key of a float word (integers as they are).
uint64_t key_of(uint64_t w, const format::DtypeInfo& dt) {
  if (dt.exp_bits == 0) {
    return w;
  }
  switch (dt.word) {
    case 1:
      return codec::float_key<uint8_t>(static_cast<uint8_t>(w));
    case 2:
      return codec::float_key<uint16_t>(static_cast<uint16_t>(w));
    case 4:
      return codec::float_key<uint32_t>(static_cast<uint32_t>(w));
    default:
      return codec::float_key<uint64_t>(w);
  }
}

uint64_t exponent_of(uint64_t w, const format::DtypeInfo& dt) {
  return (w >> dt.mant_bits) & ((uint64_t(1) << dt.exp_bits) - 1);
}

// log2(1 + 2|d|): the bits of a zigzagged difference.
double delta_bits(uint64_t a, uint64_t b, unsigned word) {
  uint64_t mask = word == 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * word)) - 1;
  uint64_t d = (a - b) & mask;
  uint64_t mag = std::min(d, (0 - d) & mask);
  return std::log2(1.0 + 2.0 * static_cast<double>(mag));
}

// Bits per element of a block coded alone: sign and mantissa as they are,
// the exponent at its empirical entropy; integers by their magnitude.
double solo_estimate(ByteView block, const format::DtypeInfo& dt) {
  size_t n = block.size() / dt.word;
  if (n == 0) {
    return 0;
  }
  if (dt.exp_bits == 0) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
      sum += delta_bits(word_at(block.data() + i * dt.word, dt.word), 0, dt.word);
    }
    return std::min(sum / static_cast<double>(n), 8.0 * dt.word);
  }
  std::map<uint64_t, size_t> hist;
  for (size_t i = 0; i < n; ++i) {
    ++hist[exponent_of(word_at(block.data() + i * dt.word, dt.word), dt)];
  }
  double h = 0;
  for (const auto& [e, c] : hist) {
    double p = static_cast<double>(c) / static_cast<double>(n);
    h -= p * std::log2(p);
  }
  return 1.0 + dt.mant_bits + h;
}

// Reads a candidate's tensor bytes: from a file that still holds them, else
// decoded from the store.
class CandidateReader {
 public:
  CandidateReader(const CandidateModel& c, const store::Resolver& resolver)
      : m_c(c), m_resolver(resolver), m_files(c.shards.size()), m_opened(c.shards.size()) {
    for (size_t s = 0; s < c.shards.size(); ++s) {
      for (const auto& t : c.shards[s].tensors) {
        m_by_name.emplace(t.info.name, std::make_pair(s, &t));
      }
    }
  }

  const format::ManifestTensor* find(const std::string& name, size_t* shard = nullptr) const {
    auto it = m_by_name.find(name);
    if (it == m_by_name.end()) {
      return nullptr;
    }
    if (shard) {
      *shard = it->second.first;
    }
    return it->second.second;
  }

  // Whether reading `name` needs the store (no matching file).
  bool needs_decoding(const std::string& name) {
    size_t s = 0;
    const format::ManifestTensor* t = find(name, &s);
    return t && !file_tensor(s, *t);
  }

  Status read(const std::string& name, uint64_t offset, std::span<uint8_t> out) {
    size_t s = 0;
    const format::ManifestTensor* t = find(name, &s);
    if (!t) {
      return make_error(Errc::NotFound, m_c.name + ": no tensor '" + name + "'");
    }
    if (auto at = file_tensor(s, *t)) {
      return read_exact_at(m_files[s]->fd->get(), *at + offset, out, m_files[s]->path);
    }
    return m_resolver.read_raw(t->id, offset, out);
  }

 private:
  // Where tensor t's bytes start in shard s's file, if that file has them.
  std::optional<uint64_t> file_tensor(size_t s, const format::ManifestTensor& t) {
    if (s >= m_c.files.size() || m_c.files[s].empty()) {
      return std::nullopt;
    }
    if (!m_opened[s]) {
      m_opened[s] = true;
      auto f = open_safetensors(m_c.files[s]);
      if (f && f->size == m_c.shards[s].size) {
        m_files[s] = std::move(*f);
      }
    }
    if (!m_files[s]) {
      return std::nullopt;
    }
    for (const auto& ti : m_files[s]->header.tensors) {
      if (ti.name == t.info.name) {
        if (ti.size() == t.info.size() && ti.dtype == t.info.dtype) {
          return m_files[s]->header.data_start() + ti.begin;
        }
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  const CandidateModel& m_c;
  const store::Resolver& m_resolver;
  std::map<std::string, std::pair<size_t, const format::ManifestTensor*>> m_by_name;
  std::vector<std::optional<SafetensorsFile>> m_files;  // usable ones
  std::vector<bool> m_opened;
};

BaseScore score_one(const SafetensorsFile& f, const std::vector<Sample>& plan,
                    const CandidateModel& c, size_t index, const store::Resolver& resolver,
                    const FinderOptions& opts) {
  BaseScore sc;
  sc.index = index;
  sc.coverage = signature_coverage(f.header, c);
  if (sc.coverage < opts.min_coverage) {
    sc.why_not =
        "few tensors in common (" + std::to_string(int(sc.coverage * 100)) + " % of bytes)";
    return sc;
  }
  CandidateReader reader(c, resolver);
  double est = 0, solo = 0;
  uint64_t float_pairs = 0, same_exp = 0;
  size_t decoded = 0;
  uint64_t largest = 0;
  const format::ManifestTensor* deepest_probe = nullptr;
  std::vector<uint8_t> mine, theirs;
  for (const Sample& s : plan) {
    const format::DtypeInfo& dt = format::dtype_info(s.tensor->dtype);
    double elems = static_cast<double>(s.length / dt.word);
    const format::ManifestTensor* t = reader.find(s.tensor->name);
    if (!t || t->info.dtype != s.tensor->dtype || t->info.size() < dt.word) {
      est += elems * s.solo_bits;  // no counterpart: coded alone
      solo += elems * s.solo_bits;
      continue;
    }
    if (reader.needs_decoding(s.tensor->name)) {
      if (decoded == opts.max_decoded) {
        continue;  // not compared: left out of both sides
      }
      ++decoded;
    }
    // The same bytes in both: inside the shorter tensor (a grown leading
    // dimension keeps the common prefix aligned).
    uint64_t len = std::min(s.length, t->info.size() / dt.word * dt.word);
    uint64_t off = std::min(s.offset, (t->info.size() - len) / dt.word * dt.word);
    mine.resize(len);
    theirs.resize(len);
    if (!read_exact_at(f.fd->get(), f.header.data_start() + s.tensor->begin + off, mine, f.path) ||
        !reader.read(s.tensor->name, off, theirs)) {
      sc.why_not = "its tensor '" + s.tensor->name + "' cannot be read";
      return sc;
    }
    size_t n = len / dt.word;
    double bits = 0;
    for (size_t i = 0; i < n; ++i) {
      uint64_t a = word_at(mine.data() + i * dt.word, dt.word);
      uint64_t b = word_at(theirs.data() + i * dt.word, dt.word);
      bits += delta_bits(key_of(a, dt), key_of(b, dt), dt.word);
      if (dt.exp_bits) {
        ++float_pairs;
        same_exp += exponent_of(a, dt) == exponent_of(b, dt);
      }
    }
    double per = n ? bits / static_cast<double>(n) : s.solo_bits;
    est += static_cast<double>(n) * std::min(per, s.solo_bits);
    solo += static_cast<double>(n) * s.solo_bits;
    sc.sampled += n;
    if (t->info.size() > largest) {
      largest = t->info.size();
      deepest_probe = t;
    }
  }
  sc.exponent_match =
      float_pairs ? static_cast<double>(same_exp) / static_cast<double>(float_pairs) : 1.0;
  sc.ratio = solo > 0 ? est / solo : 1.0;
  if (sc.sampled == 0) {
    sc.why_not = "no tensor could be compared";
    return sc;
  }
  if (deepest_probe) {
    auto depth = resolver.depth_of(deepest_probe->id);
    if (!depth) {
      sc.why_not = "its objects are not in the store";
      return sc;
    }
    sc.depth = *depth;
    if (sc.depth + 1 > format::k_max_depth) {
      sc.why_not = "its delta chain is already at the maximum depth";
      return sc;
    }
  }
  if (float_pairs && sc.exponent_match < opts.min_exponent_match) {
    sc.why_not = "unrelated weights (" + std::to_string(int(sc.exponent_match * 100)) +
                 " % of exponents match)";
    return sc;
  }
  if (sc.ratio > opts.max_ratio) {
    sc.why_not = "saves too little";
    return sc;
  }
  sc.related = true;
  return sc;
}

}  // namespace

double signature_coverage(const format::Header& f, const CandidateModel& candidate) {
  std::map<std::string_view, format::Dtype> theirs;
  for (const auto& m : candidate.shards) {
    for (const auto& t : m.tensors) {
      theirs.emplace(t.info.name, t.info.dtype);
    }
  }
  uint64_t total = 0, common = 0;
  for (const auto& t : f.tensors) {
    total += t.size();
    auto it = theirs.find(t.name);
    if (it != theirs.end() && it->second == t.dtype) {
      common += t.size();
    }
  }
  return total ? static_cast<double>(common) / static_cast<double>(total) : 0.0;
}

Result<std::vector<BaseScore>> rank_bases(const SafetensorsFile& f,
                                          std::span<const CandidateModel> candidates,
                                          const store::Resolver& resolver,
                                          const FinderOptions& opts) {
  // The plan: F's largest sampleable tensors, one block from the middle of each.
  std::vector<const format::TensorInfo*> order;
  for (const auto& t : f.header.tensors) {
    const format::DtypeInfo& dt = format::dtype_info(t.dtype);
    if (sampleable(dt) && t.size() >= dt.word) {
      order.push_back(&t);
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto* a, const auto* b) { return a->size() > b->size(); });
  order.resize(std::min(order.size(), opts.max_tensors));
  std::vector<Sample> plan;
  std::vector<uint8_t> block;
  for (const auto* t : order) {
    const format::DtypeInfo& dt = format::dtype_info(t->dtype);
    uint64_t len = std::min<uint64_t>(opts.sample_bytes, t->size()) / dt.word * dt.word;
    uint64_t off = (t->size() / 2 - std::min(t->size() / 2, len / 2)) / dt.word * dt.word;
    block.resize(len);
    TRY_STATUS(read_exact_at(f.fd->get(), f.header.data_start() + t->begin + off, block, f.path));
    plan.push_back(Sample{t, off, len, solo_estimate(block, dt)});
  }
  std::vector<BaseScore> out;
  for (size_t i = 0; i < candidates.size(); ++i) {
    out.push_back(score_one(f, plan, candidates[i], i, resolver, opts));
  }
  std::stable_sort(out.begin(), out.end(), [&](const BaseScore& a, const BaseScore& b) {
    if (a.related != b.related) {
      return a.related;
    }
    if (std::abs(a.ratio - b.ratio) > 0.005) {
      return a.ratio < b.ratio;
    }
    if (a.depth != b.depth) {
      return a.depth < b.depth;
    }
    return candidates[a.index].rank < candidates[b.index].rank;
  });
  return out;
}

}  // namespace zipllm::ops
