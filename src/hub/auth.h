// Who may do what on the hub (docs/HUB.md "Tokens").
//
// The token file (`git zipllm serve --auth FILE`), one grant per line:
//
//   TOKEN  read|write  PATTERN [PATTERN...]     # comment
//
// PATTERN is a repository `ORG/NAME`, `ORG/*` or `*`; `write` implies
// `read`. A client presents TOKEN as the password of HTTP Basic (any user
// name) or as `Authorization: Bearer TOKEN`. Without a file every
// repository is readable anonymously and writable only with
// --allow-anonymous-push.
//
// Actions carry their own token (git-lfs gives custom agents no
// credentials, and a basic transfer should not need the user's again):
// `zl1:OP:REPO:OID:SIZE:EXPIRY:MAC`, MAC = hex HMAC-SHA256 under the hub's
// secret of everything before it. It allows one operation on one object of
// one repository until EXPIRY (Unix seconds). Instances sharing a store
// share the secret (<store>/hub/secret), so any of them accepts it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace zipllm::hub {

enum class Right { None, Read, Write };

// What a request's credentials amount to.
struct Caller {
  bool presented = false;  // credentials were sent
  bool known = false;      // ... and they are a token of the file
  std::string token;       // the token itself (known or not)
};

class Grants {
 public:
  // Parses the token file; errors name the file and line.
  static Result<Grants> load(const std::string& path);
  // No file: anonymous read, write only if `anonymous_push`.
  static Grants open_hub(bool anonymous_push);

  // The caller behind an Authorization header value ("" if none).
  Caller identify(const std::string& authorization) const;
  Right right(const Caller& c, const std::string& repo) const;
  // No token file: credentials change nothing.
  bool open() const { return m_open; }

 private:
  struct Grant {
    std::string token;
    Right right = Right::None;
    std::vector<std::string> patterns;
  };
  bool m_open = false;
  bool m_anonymous_push = false;
  std::vector<Grant> m_grants;
};

// `ORG/NAME` with each part of [A-Za-z0-9._-], not starting with '.'.
bool valid_repo(const std::string& repo);
// A pattern of the token file matches `repo`.
bool repo_matches(const std::string& pattern, const std::string& repo);

struct ActionToken {
  std::string op;  // "upload" or "download"
  std::string repo;
  std::string oid;
  uint64_t size = 0;
  int64_t expiry = 0;  // Unix seconds
};

std::string sign_action(const ActionToken& t, const std::string& secret);
// The token inside `authorization` ("Bearer zl1:…") if its MAC is right
// and it has not expired at `now`.
std::optional<ActionToken> check_action(const std::string& authorization, const std::string& secret,
                                        int64_t now);

}  // namespace zipllm::hub
