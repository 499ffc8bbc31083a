// gen_pair SRC_BASE SRC_FINE OUT_BASE OUT_FINE SIZE_MIB [SEED]
//
// Writes a BF16 base/fine-tune pair of about SIZE_MIB each whose element
// pairs (base value, fine value) are drawn from a real pair: every output
// element is one (base[i], fine[i]) picked at random from the BF16 tensors
// both source files share. The joint statistics a delta coder sees are the
// real fine-tune's; only the spatial order is lost. Tensors are 64 MiB
// ("layers.N.weight", [16384, 2048]) plus a remainder.
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>

#include "format/safetensors.h"
#include "util/file.h"

using namespace zipllm;

static std::vector<uint8_t> load(const char* path, format::Header& h) {
  auto bytes = read_whole_file(path, 1ull << 34);
  if (!bytes) {
    std::fprintf(stderr, "%s\n", bytes.error().message.c_str());
    std::exit(1);
  }
  uint64_t n = *format::parse_header_length(ByteView(bytes->data(), 8), bytes->size());
  h = *format::parse_header(ByteView(bytes->data() + 8, n), bytes->size());
  return std::move(*bytes);
}

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: gen_pair SRC_BASE SRC_FINE OUT_BASE OUT_FINE SIZE_MIB [SEED]\n");
    return 1;
  }
  format::Header hb, hf;
  auto b = load(argv[1], hb);
  auto f = load(argv[2], hf);
  std::map<std::string, const format::TensorInfo*> by_name;
  for (const auto& t : hb.tensors) {
    by_name[t.name] = &t;
  }
  std::vector<uint16_t> pb, pf;  // the pool of element pairs
  for (const auto& t : hf.tensors) {
    auto it = by_name.find(t.name);
    if (t.dtype != format::Dtype::BF16 || it == by_name.end() || it->second->size() != t.size()) {
      continue;
    }
    for (uint64_t i = 0; i + 1 < t.size(); i += 2) {
      const uint8_t* x = b.data() + hb.data_start() + it->second->begin + i;
      const uint8_t* y = f.data() + hf.data_start() + t.begin + i;
      pb.push_back(uint16_t(x[0] | x[1] << 8));
      pf.push_back(uint16_t(y[0] | y[1] << 8));
    }
  }
  if (pb.empty()) {
    std::fprintf(stderr, "no shared BF16 tensors\n");
    return 1;
  }
  uint64_t total = std::stoull(argv[5]) << 20;
  std::mt19937_64 rng(argc > 6 ? std::stoull(argv[6]) : 1);
  const uint64_t rows = 16384, cols = 2048, tensor_bytes = rows * cols * 2;
  std::string header = "{\"__metadata__\":{\"format\":\"pt\",\"generator\":\"gen_pair\"}";
  uint64_t off = 0;
  int idx = 0;
  std::vector<uint64_t> sizes;
  while (off < total) {
    uint64_t r = std::min<uint64_t>(rows, (total - off) / (cols * 2));
    if (r == 0) {
      break;
    }
    uint64_t sz = r * cols * 2;
    header += ",\"layers." + std::to_string(idx++) + ".weight\":{\"dtype\":\"BF16\",\"shape\":[" +
              std::to_string(r) + "," + std::to_string(cols) + "],\"data_offsets\":[" +
              std::to_string(off) + "," + std::to_string(off + sz) + "]}";
    sizes.push_back(sz);
    off += sz;
  }
  header += "}";
  while (header.size() % 8) {
    header += ' ';
  }
  auto ob = AtomicFile::create(argv[3]);
  auto of = AtomicFile::create(argv[4]);
  std::vector<uint8_t> prefix(8);
  for (int i = 0; i < 8; ++i) {
    prefix[i] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i));
  }
  for (auto* o : {&*ob, &*of}) {
    (void)o->write(prefix);
    (void)o->write(ByteView(reinterpret_cast<const uint8_t*>(header.data()), header.size()));
  }
  std::vector<uint8_t> bb(tensor_bytes), fb(tensor_bytes);
  for (uint64_t sz : sizes) {
    for (uint64_t i = 0; i < sz / 2; ++i) {
      size_t k = rng() % pb.size();
      bb[2 * i] = uint8_t(pb[k]);
      bb[2 * i + 1] = uint8_t(pb[k] >> 8);
      fb[2 * i] = uint8_t(pf[k]);
      fb[2 * i + 1] = uint8_t(pf[k] >> 8);
    }
    (void)ob->write(ByteView(bb.data(), sz));
    (void)of->write(ByteView(fb.data(), sz));
  }
  if (!ob->commit() || !of->commit()) {
    std::fprintf(stderr, "write failed\n");
    return 1;
  }
  std::printf("wrote %s and %s: %d tensors, %llu bytes of weights each\n", argv[3], argv[4], idx,
              static_cast<unsigned long long>(off));
  return 0;
}
