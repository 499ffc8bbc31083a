#include "hub/auth.h"

#include <openssl/crypto.h>

#include <charconv>
#include <sstream>

#include "util/file.h"
#include "util/hash.h"

namespace zipllm::hub {

namespace {

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base64_decode(std::string_view in) {
  static const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') {
      break;
    }
    size_t v = chars.find(c);
    if (v == std::string::npos) {
      return "";
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

bool valid_part(std::string_view p) {
  if (p.empty() || p.size() > 100 || p[0] == '.') {
    return false;
  }
  for (char c : p) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t at = 0;
  for (;;) {
    size_t next = s.find(sep, at);
    out.push_back(s.substr(at, next - at));
    if (next == std::string::npos) {
      return out;
    }
    at = next + 1;
  }
}

std::string payload(const ActionToken& t) {
  return "zl1:" + t.op + ":" + t.repo + ":" + t.oid + ":" + std::to_string(t.size) + ":" +
         std::to_string(t.expiry);
}

}  // namespace

bool valid_repo(const std::string& repo) {
  size_t slash = repo.find('/');
  return slash != std::string::npos && valid_part(std::string_view(repo).substr(0, slash)) &&
         valid_part(std::string_view(repo).substr(slash + 1));
}

bool repo_matches(const std::string& pattern, const std::string& repo) {
  if (pattern == "*" || pattern == repo) {
    return true;
  }
  return pattern.size() > 2 && pattern.compare(pattern.size() - 2, 2, "/*") == 0 &&
         repo.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
}

Result<Grants> Grants::load(const std::string& path) {
  auto bytes = TRY(read_whole_file(path, 16u << 20));
  Grants g;
  std::istringstream in(std::string(bytes.begin(), bytes.end()));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (size_t hash = line.find('#'); hash != std::string::npos) {
      line.resize(hash);
    }
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) {
      w.push_back(x);
    }
    if (w.empty()) {
      continue;
    }
    auto bad = [&](const std::string& why) {
      return make_error(Errc::InvalidArgument,
                        path + ":" + std::to_string(n) + ": " + why +
                            " (expected: TOKEN read|write ORG/NAME|ORG/*|* ...)");
    };
    if (w.size() < 3) {
      return bad("too few fields");
    }
    Grant grant;
    grant.token = w[0];
    if (w[1] == "read") {
      grant.right = Right::Read;
    } else if (w[1] == "write") {
      grant.right = Right::Write;
    } else {
      return bad("unknown right '" + w[1] + "'");
    }
    for (size_t i = 2; i < w.size(); ++i) {
      const std::string& p = w[i];
      bool ok = p == "*" || valid_repo(p) ||
                (p.size() > 2 && p.compare(p.size() - 2, 2, "/*") == 0 &&
                 valid_part(std::string_view(p).substr(0, p.size() - 2)));
      if (!ok) {
        return bad("bad repository pattern '" + p + "'");
      }
      grant.patterns.push_back(p);
    }
    g.m_grants.push_back(std::move(grant));
  }
  return g;
}

Grants Grants::open_hub(bool anonymous_push) {
  Grants g;
  g.m_open = true;
  g.m_anonymous_push = anonymous_push;
  return g;
}

Caller Grants::identify(const std::string& authorization) const {
  Caller c;
  std::string token;
  if (authorization.rfind("Basic ", 0) == 0) {
    std::string pair = base64_decode(authorization.substr(6));
    size_t colon = pair.find(':');
    token = colon == std::string::npos ? "" : pair.substr(colon + 1);
  } else if (authorization.rfind("Bearer ", 0) == 0) {
    token = authorization.substr(7);
  }
  if (token.empty()) {
    return c;
  }
  c.presented = true;
  c.token = token;
  for (const auto& g : m_grants) {
    if (same_secret(g.token, token)) {
      c.known = true;
    }
  }
  return c;
}

Right Grants::right(const Caller& c, const std::string& repo) const {
  if (m_open) {
    return m_anonymous_push ? Right::Write : Right::Read;
  }
  Right best = Right::None;
  if (!c.known) {
    return best;
  }
  for (const auto& g : m_grants) {
    if (!same_secret(g.token, c.token)) {
      continue;
    }
    for (const auto& p : g.patterns) {
      if (repo_matches(p, repo) && g.right > best) {
        best = g.right;
      }
    }
  }
  return best;
}

std::string sign_action(const ActionToken& t, const std::string& secret) {
  std::string p = payload(t);
  std::string mac = hmac_sha256(secret, p);
  return p + ":" + to_hex(ByteView(reinterpret_cast<const uint8_t*>(mac.data()), mac.size()));
}

std::optional<ActionToken> check_action(const std::string& authorization, const std::string& secret,
                                        int64_t now) {
  if (authorization.rfind("Bearer zl1:", 0) != 0) {
    return std::nullopt;
  }
  auto parts = split(authorization.substr(7), ':');
  if (parts.size() != 7) {
    return std::nullopt;
  }
  ActionToken t;
  t.op = parts[1];
  t.repo = parts[2];
  t.oid = parts[3];
  auto num = [](const std::string& s, auto& v) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
  };
  if (!num(parts[4], t.size) || !num(parts[5], t.expiry)) {
    return std::nullopt;
  }
  std::string mac = hmac_sha256(secret, payload(t));
  std::string want = to_hex(ByteView(reinterpret_cast<const uint8_t*>(mac.data()), mac.size()));
  if (!same_secret(want, parts[6]) || t.expiry < now) {
    return std::nullopt;
  }
  return t;
}

}  // namespace zipllm::hub
