// Pure parsers of the git layer: `git -c` parameters, git-config syntax
// (.zipllmconfig), pre-push hook input.
#include <doctest/doctest.h>

#include "git/hooks.h"
#include "git/path_filter.h"
#include "git/repo.h"
#include "git/settings.h"
#include "git/sync.h"

using namespace zipllm::git;
using KV = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("GIT_CONFIG_PARAMETERS: both spellings, quotes, flags") {
  CHECK(parse_config_parameters("'zipllm.url'='s3://b/p'") == KV{{"zipllm.url", "s3://b/p"}});
  CHECK(parse_config_parameters("'zipllm.url=s3://b/p'") == KV{{"zipllm.url", "s3://b/p"}});
  CHECK(parse_config_parameters("'a.b'='1' 'c.d=2'") == KV{{"a.b", "1"}, {"c.d", "2"}});
  CHECK(parse_config_parameters("'core.bare'") == KV{{"core.bare", "true"}});
  CHECK(parse_config_parameters("'x.y'='it'\\''s'") == KV{{"x.y", "it's"}});
  CHECK(parse_config_parameters("'x.y'='a=b'") == KV{{"x.y", "a=b"}});
  CHECK(parse_config_parameters("").empty());
  CHECK(parse_config_parameters("garbage 'x.y'='1'").empty());  // stops at what it does not know
}

TEST_CASE("git-config syntax of .zipllmconfig") {
  auto m = parse_git_config(
      "# comment\n[zipllm]\n\turl = s3://models/team ; trailing comment\n\tBase = "
      "\"base/model.safetensors\"\n"
      "[remote \"Origin\"]\n\tzipllmurl = /srv/x\n[broken\nkey = ignored\n[zipllm] s3pathstyle\n");
  CHECK(m["zipllm.url"] == "s3://models/team");
  CHECK(m["zipllm.base"] == "base/model.safetensors");
  CHECK(m["remote.Origin.zipllmurl"] == "/srv/x");  // subsection keeps its case
  CHECK(m["zipllm.s3pathstyle"] == "true");         // a key alone is true
  CHECK(m.count("key") == 0);
}

TEST_CASE("committed settings that need trust") {
  CHECK(needs_trust("zipllm.url"));
  CHECK(needs_trust("ZIPLLM.S3ENDPOINT"));
  CHECK(needs_trust("remote.origin.zipllmurl"));
  CHECK_FALSE(needs_trust("zipllm.base"));
  CHECK_FALSE(needs_trust("zipllm.s3region"));
}

TEST_CASE("pre-push input to rev-list arguments") {
  const std::string zero(40, '0');
  const std::string a(40, 'a'), b(40, 'b'), c(40, 'c');
  auto args = pre_push_rev_args("refs/heads/main " + a + " refs/heads/main " + b + "\n", "origin");
  CHECK(args == std::vector<std::string>{a, "--not", b, "--remotes=origin"});
  // A new branch: nothing to subtract but what the remote's refs have.
  args = pre_push_rev_args("refs/heads/new " + a + " refs/heads/new " + zero + "\n", "origin");
  CHECK(args == std::vector<std::string>{a, "--not", "--remotes=origin"});
  // A deletion pushes nothing.
  CHECK(pre_push_rev_args("(delete) " + zero + " refs/heads/old " + c + "\n", "origin").empty());
  // Pushing to a URL: no remote-tracking refs to subtract.
  args = pre_push_rev_args("refs/heads/main " + a + " refs/heads/main " + zero + "\n",
                           "https://h/r.git");
  CHECK(args == std::vector<std::string>{a, "--not"});
  CHECK(pre_push_rev_args("", "origin").empty());
}

TEST_CASE("path filter: globs over the path, base names, folders, as git-lfs's --include") {
  CHECK(path_matches("ft", "ft/a/model.safetensors"));
  CHECK(path_matches("ft/a", "ft/a/model.safetensors"));
  CHECK_FALSE(path_matches("ft", "ftA/model.safetensors"));
  CHECK(path_matches("ft*", "ftA/model.safetensors"));
  CHECK(path_matches("*.bin", "deep/dir/x.bin"));
  CHECK(path_matches("ft*/model.safetensors", "ftB/model.safetensors"));
  CHECK(path_matches("base/*", "base/model.safetensors"));
  CHECK_FALSE(path_matches("base/*", "other/base/model.safetensors"));
  CHECK(path_matches("model-0000?-of-00002.safetensors", "m/model-00001-of-00002.safetensors"));
  PathFilter f;
  CHECK(f.allows("anything"));
  f.include = {"ft*"};
  f.exclude = {"ftB"};
  CHECK(f.allows("ftA/m.safetensors"));
  CHECK_FALSE(f.allows("ftB/m.safetensors"));
  CHECK_FALSE(f.allows("base/m.safetensors"));
  CHECK(f.describe() == "--include ft* --exclude ftB");
}

TEST_CASE("git push -q seen from its command line (what the pre-push hook cannot be told)") {
  using V = std::vector<std::string>;
  CHECK(push_args_quiet(V{"git", "push", "-q", "origin", "main"}));
  CHECK(push_args_quiet(V{"/usr/bin/git", "push", "--quiet"}));
  CHECK(push_args_quiet(V{"git", "-c", "a.b=c", "-C", "dir", "push", "-fq", "origin"}));
  CHECK_FALSE(push_args_quiet(V{"git", "push", "origin", "main"}));
  CHECK_FALSE(push_args_quiet(V{"git", "push", "-o", "q", "origin"}));  // a push option's value
  CHECK_FALSE(push_args_quiet(V{"git", "push", "-oq", "origin"}));      // the same, joined
  CHECK_FALSE(push_args_quiet(V{"git", "push", "--", "-q"}));           // a refspec after --
  CHECK_FALSE(push_args_quiet(V{"git", "push", "-q", "--no-quiet"}));   // the last one wins
  CHECK_FALSE(push_args_quiet(V{"git", "fetch", "-q"}));
  CHECK_FALSE(push_args_quiet(V{"git", "commit", "-m", "push", "-q"}));  // another command
  CHECK_FALSE(push_args_quiet(V{"sh", "push", "-q"}));
  CHECK_FALSE(push_args_quiet(V{}));
}
