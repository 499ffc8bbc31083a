#include <doctest/doctest.h>

#include <cstdlib>
#include <set>
#include <string>

#include "util/env.h"

using namespace zipllm;

TEST_CASE("env: one table, in enum order, every name GIT_ZIPLLM_ and unique") {
  std::set<std::string> names;
  for (size_t i = 0; i < env::table().size(); ++i) {
    const auto& e = env::table()[i];
    CHECK(static_cast<size_t>(e.var) == i);
    CHECK(std::string(e.name).rfind("GIT_ZIPLLM_", 0) == 0);
    CHECK(names.insert(e.name).second);
    CHECK(std::string(e.meaning).size() > 10);
  }
}

TEST_CASE("env: numbers and flags fall back on bad values") {
  const char* name = env::info(env::Var::Transfers).name;
  ::setenv(name, "12", 1);
  CHECK(env::number(env::Var::Transfers, 8, 1, 64) == 12);
  ::setenv(name, "0", 1);
  CHECK(env::number(env::Var::Transfers, 8, 1, 64) == 8);  // below the range
  ::setenv(name, "12abc", 1);
  CHECK(env::number(env::Var::Transfers, 8, 1, 64) == 8);
  ::setenv(name, "-3", 1);
  CHECK(env::number(env::Var::Transfers, 8, 1, 64) == 8);
  ::unsetenv(name);
  CHECK(env::number(env::Var::Transfers, 8, 1, 64) == 8);
  const char* trace = env::info(env::Var::Trace).name;
  for (const char* on : {"1", "true", "YES", "on"}) {
    ::setenv(trace, on, 1);
    CHECK(env::flag(env::Var::Trace));
  }
  for (const char* off : {"0", "false", "", "no"}) {
    ::setenv(trace, off, 1);
    CHECK_FALSE(env::flag(env::Var::Trace));
  }
  ::unsetenv(trace);
}
