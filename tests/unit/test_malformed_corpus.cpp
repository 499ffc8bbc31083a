// The committed malformed-input corpus (tests/data/malformed, written by
// its make.py): every case must be rejected, with a message, by the parser
// of its kind. A case that parses is a hole in validation.
#include <doctest/doctest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <map>

#include "format/manifest.h"
#include "format/safetensors.h"
#include "git/lfs_message.h"
#include "git/pkt_line.h"
#include "store/resolver.h"
#include "util/file.h"

using namespace zipllm;

namespace {

const std::string k_dir = std::string(ZIPLLM_TEST_DATA) + "/malformed";

std::map<std::string, std::vector<uint8_t>> cases(const std::string& kind) {
  std::map<std::string, std::vector<uint8_t>> out;
  for (const auto& e : std::filesystem::directory_iterator(k_dir + "/" + kind)) {
    auto bytes = read_whole_file(e.path().string(), 1 << 24);
    REQUIRE(bytes);
    out.emplace(e.path().filename().string(), std::move(*bytes));
  }
  return out;
}

// A descriptor holding `data` (for readers that take one).
Fd memory_fd(const std::vector<uint8_t>& data) {
  int fd = ::memfd_create("case", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(write_all(fd, data, "memfd"));
  REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
  return Fd(fd);
}

Status parse_safetensors(const std::vector<uint8_t>& d) {
  if (d.size() < 8) {
    return make_error(Errc::InvalidArgument, "shorter than the 8-byte header length");
  }
  uint64_t n = TRY(format::parse_header_length(ByteView(d.data(), 8), d.size()));
  TRY(format::parse_header(ByteView(d.data() + 8, n), d.size()));
  return {};
}

// An object: container checks, then a full decode compared with its id.
class OneObject : public store::ObjectSource {
 public:
  explicit OneObject(const std::vector<uint8_t>& d)
      : m_fd(std::make_shared<const Fd>(memory_fd(d))), m_size(d.size()) {}
  Result<std::optional<store::ObjectLocation>> locate(const ObjectId&) const override {
    return std::optional<store::ObjectLocation>(store::ObjectLocation{m_fd, 0, m_size, "case"});
  }
  bool contains(const ObjectId&) const override { return true; }

 private:
  std::shared_ptr<const Fd> m_fd;
  uint64_t m_size;
};

Status parse_object(const std::vector<uint8_t>& d) {
  // The id the golden object claims (bytes 28..44 of a well-formed header).
  ObjectId id;
  if (d.size() >= format::k_object_header_size) {
    auto h = format::parse_object_prefix(ByteView(d.data(), format::k_object_header_size));
    if (h) {
      id = h->id;
    }
  }
  OneObject src(d);
  store::Resolver r;
  r.add_source(&src);
  auto loc = TRY(src.locate(id));
  TRY_STATUS(store::check_encoded(*loc, id));
  store::ObjectReader reader = TRY(r.open(id));
  IdHasher h;
  for (uint32_t i = 0; i < reader.header().chunk_count(); ++i) {
    h.update(TRY(r.decode_chunk(reader, i)));
  }
  if (h.finish() != id) {
    return make_error(Errc::Corrupt, "decodes to other bytes");
  }
  return {};
}

// A pkt-line stream as filter-process reads it: lists until the input ends.
Status parse_pkt(const std::vector<uint8_t>& d) {
  Fd fd = memory_fd(d);
  git::PktReader r(fd.get());
  while (true) {
    auto list = r.read_text_list();
    if (!list) {
      if (list.error().code == Errc::NotFound) {
        return make_error(Errc::Internal, "read to a clean end: not malformed");
      }
      return list.error();
    }
  }
}

Status parse_lfs(const std::vector<uint8_t>& d) {
  TRY(git::parse_lfs_message(std::string_view(reinterpret_cast<const char*>(d.data()), d.size())));
  return {};
}

void expect_all_rejected(const std::string& kind,
                         const std::function<Status(const std::vector<uint8_t>&)>& parse) {
  auto all = cases(kind);
  CHECK(all.size() >= 10);
  for (const auto& [name, data] : all) {
    CAPTURE(kind);
    CAPTURE(name);
    Status s = parse(data);
    CHECK_FALSE(s.ok());
    if (!s.ok()) {
      CHECK(s.error().code != Errc::Internal);
      CHECK_FALSE(s.error().message.empty());
    }
  }
}

}  // namespace

TEST_CASE("malformed corpus: safetensors") {
  expect_all_rejected("safetensors", parse_safetensors);
}
TEST_CASE("malformed corpus: manifests") {
  expect_all_rejected("manifest", [](const std::vector<uint8_t>& d) -> Status {
    TRY(format::parse_manifest(
        std::string_view(reinterpret_cast<const char*>(d.data()), d.size())));
    return {};
  });
}
TEST_CASE("malformed corpus: store objects") {
  expect_all_rejected("object", parse_object);
}
TEST_CASE("malformed corpus: pkt-lines") {
  expect_all_rejected("pkt", parse_pkt);
}
TEST_CASE("malformed corpus: LFS agent messages") {
  expect_all_rejected("lfs", parse_lfs);
}
TEST_CASE("malformed corpus: at least 60 cases") {
  size_t n = 0;
  for (const char* kind : {"safetensors", "manifest", "object", "pkt", "lfs"}) {
    n += cases(kind).size();
  }
  CHECK(n >= 60);
}

// The same parsers accept good input (else "rejected" would prove nothing).
TEST_CASE("malformed corpus: the checks accept well-formed input") {
  auto golden = read_whole_file(std::string(ZIPLLM_TEST_DATA) + "/golden/object_v1.bin", 1 << 24);
  REQUIRE(golden);
  CHECK(parse_object(*golden));
  auto model = read_whole_file(std::string(ZIPLLM_TEST_DATA) + "/stories260K/base.bf16.safetensors",
                               1 << 24);
  REQUIRE(model);
  CHECK(parse_safetensors(*model));
  std::string msg =
      "{\"event\":\"upload\",\"oid\":\"" + std::string(64, 'a') + "\",\"size\":1,\"path\":\"x\"}";
  CHECK(parse_lfs(std::vector<uint8_t>(msg.begin(), msg.end())));
  std::string stream = "0012command=clean\n0000";
  Status s = parse_pkt(std::vector<uint8_t>(stream.begin(), stream.end()));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == Errc::Internal);  // read to the end without a framing error
}
