#include <doctest/doctest.h>
#include <unistd.h>

#include <thread>

#include "git/base_registry.h"
#include "git/pkt_line.h"

using namespace zipllm;

TEST_CASE("model card: base_model in its three YAML spellings") {
  using git::model_card_bases;
  CHECK(model_card_bases("---\nbase_model: org/a\n---\ntext") == std::vector<std::string>{"org/a"});
  CHECK(
      model_card_bases("---\nlicense: mit\nbase_model:\n- org/a\n- \"org/b\"\ntags: [x]\n---\n") ==
      std::vector<std::string>{"org/a", "org/b"});
  CHECK(model_card_bases("---\nbase_model: [org/a, 'org/b']\n---\n") ==
        std::vector<std::string>{"org/a", "org/b"});
  CHECK(model_card_bases("# no front matter\nbase_model: org/a\n").empty());
  CHECK(model_card_bases("---\ntitle: x\n---\nbase_model: org/a\n").empty());
}

TEST_CASE("model card: base_model_relation") {
  using git::model_card_relation;
  CHECK(model_card_relation("---\nbase_model: org/a\nbase_model_relation: quantized\n---\n") ==
        "quantized");
  CHECK(model_card_relation("---\nbase_model_relation: 'adapter'\n---\n") == "adapter");
  CHECK(model_card_relation("---\nbase_model: org/a\n---\nbase_model_relation: merge\n").empty());
  CHECK(model_card_relation("no front matter").empty());
}

TEST_CASE("base names: Hugging Face ids yes, paths that escape no") {
  CHECK(git::valid_base_name("meta-llama/Llama-3.1-8B"));
  CHECK(git::valid_base_name("base_v2"));
  CHECK_FALSE(git::valid_base_name("../etc"));
  CHECK_FALSE(git::valid_base_name("/abs"));
  CHECK_FALSE(git::valid_base_name("a//b"));
  CHECK_FALSE(git::valid_base_name("a b"));
  CHECK_FALSE(git::valid_base_name(""));
}

TEST_CASE("pkt-line: round trip, flush, large data split, no empty packets, bad lengths") {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  bool wrote = false;
  std::thread writer([&] {  // the pipe holds less than we write
    git::PktWriter w(fds[1]);
    std::vector<uint8_t> big(70000, 7);
    wrote = w.write_text("command=smudge") && w.flush() && w.write_data(big) && w.write_data({}) &&
            w.flush();  // the empty write sends nothing
    const char bad[] = "zzzz";
    wrote = wrote && ::write(fds[1], bad, 4) == 4;
    ::close(fds[1]);
  });
  git::PktReader r(fds[0]);
  auto lines = r.read_text_list();
  REQUIRE(lines);
  CHECK(*lines == std::vector<std::string>{"command=smudge"});
  auto p1 = r.read_packet();
  REQUIRE(p1);
  REQUIRE(*p1);
  CHECK((*p1)->size() == git::k_max_pkt_payload);
  auto p2 = r.read_packet();
  REQUIRE(p2);
  REQUIRE(*p2);
  CHECK((*p2)->size() == 70000 - git::k_max_pkt_payload);
  auto flush = r.read_packet();
  REQUIRE(flush);
  CHECK_FALSE(*flush);
  CHECK_FALSE(r.read_packet());  // "zzzz" is not a length
  writer.join();
  CHECK(wrote);
  ::close(fds[0]);
}
