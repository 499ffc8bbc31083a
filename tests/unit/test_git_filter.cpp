#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include "format/manifest.h"
#include "git/filter.h"
#include "helpers.h"

using namespace zipllm;
using test::FakeTensor;

namespace {

std::vector<uint8_t> model_bytes(uint64_t seed) {
  return test::make_safetensors(
      {FakeTensor{"a", "BF16", {1 << 20}, test::bf16_weights(1 << 20, seed)},
       FakeTensor{"b", "BF16", {1 << 19}, test::bf16_weights(1 << 19, seed + 1)}});
}

std::string sha_hex(ByteView b) {
  Sha256 s;
  s.update(b);
  return Sha256::hex(s.finish());
}

// Changes one byte in place (same inode, as an editor or a training job
// writing into the file would).
void flip_byte(const std::string& path, uint64_t at) {
  int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  uint8_t b = 0;
  REQUIRE(::pread(fd, &b, 1, static_cast<off_t>(at)) == 1);
  b ^= 0x40;
  REQUIRE(::pwrite(fd, &b, 1, static_cast<off_t>(at)) == 1);
  ::close(fd);
}

// Runs a clean of `stream` for `path` through a Receiver, calling
// `meanwhile` after the first `split` bytes have been fed.
Status clean_stream(const std::string& path, const std::vector<uint8_t>& stream, size_t split,
                    const std::function<void()>& meanwhile, std::string& out) {
  ThreadPool pool(2);
  git::Filter filter(pool);
  git::Filter::Receiver rx(filter, path);
  TRY_STATUS(rx.feed(ByteView(stream.data(), split)));
  meanwhile();
  TRY_STATUS(rx.feed(ByteView(stream.data() + split, stream.size() - split)));
  return rx.finish(out);
}

}  // namespace

// Issue 10, defect 1: the matching prefix was copied from the work tree
// file after it had been compared; a change in between made the manifest
// describe bytes git never sent.
TEST_CASE("clean: a work tree file changed mid-stream never yields a manifest of other bytes") {
  test::TempRepo repo;
  REQUIRE(repo.ok());
  auto original = model_bytes(1);
  std::string file = repo.path("m.safetensors");
  SUBCASE("the stream differs from the file after the change") {
    test::write_file(file, original);
    auto stream = original;
    stream[stream.size() - 1000] ^= 1;  // git sends other bytes near the end
    std::string out;
    Status s = clean_stream(
        "m.safetensors", stream, 1 << 20, [&] { flip_byte(file, 600000); }, out);
    if (s) {
      auto m = format::parse_manifest(out);
      REQUIRE(m);
      CHECK(Sha256::hex(m->sha256) == sha_hex(stream));
    } else {
      CHECK(s.error().message.find("changed") != std::string::npos);
      CHECK(s.error().message.find("m.safetensors") != std::string::npos);
    }
  }
  SUBCASE("the stream equals the file, which changes before the copy") {
    test::write_file(file, original);
    std::string out;
    Status s = clean_stream(
        "m.safetensors", original, original.size(), [&] { flip_byte(file, 600000); }, out);
    if (s) {
      auto m = format::parse_manifest(out);
      REQUIRE(m);
      CHECK(Sha256::hex(m->sha256) == sha_hex(original));
    } else {
      CHECK(s.error().message.find("changed") != std::string::npos);
    }
  }
  SUBCASE("an unchanged file cleans to the stream's manifest") {
    test::write_file(file, original);
    std::string out;
    REQUIRE(clean_stream(
        "m.safetensors", original, 1 << 20, [] {}, out));
    auto m = format::parse_manifest(out);
    REQUIRE(m);
    CHECK(Sha256::hex(m->sha256) == sha_hex(original));
  }
}
