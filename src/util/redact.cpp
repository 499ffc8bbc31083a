#include "util/redact.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace zipllm {

namespace {

bool ends_authority(char c) {
  return c == '/' || c == '?' || c == '#' || c == '&' ||
         std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == ')' ||
         c == '>' || c == ',';
}

bool ends_value(char c) {
  return c == '&' || c == '#' || std::isspace(static_cast<unsigned char>(c)) || c == '"' ||
         c == '\'';
}

// Query parameters whose values are secrets (compared without case).
bool secret_param(std::string_view name) {
  static constexpr std::array<std::string_view, 9> k_names = {
      "x-amz-signature", "signature",    "x-amz-security-token",
      "token",           "access_token", "password",
      "secret",          "sig",          "key"};
  return std::any_of(k_names.begin(), k_names.end(), [&](std::string_view k) {
    return k.size() == name.size() &&
           std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
             return a == std::tolower(static_cast<unsigned char>(b));
           });
  });
}

}  // namespace

std::string redact(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    // "scheme://userinfo@": keep the scheme, hide the user information.
    if (text.compare(i, 3, "://") == 0) {
      size_t start = i + 3;
      size_t end = start;
      while (end < text.size() && !ends_authority(text[end])) {
        ++end;
      }
      size_t at = text.substr(start, end - start).rfind('@');
      out += "://";
      if (at != std::string_view::npos) {
        out += "***@";
        start += at + 1;
      }
      i = start;
      continue;
    }
    // "?name=value" / "&name=value" with a secret name.
    if ((text[i] == '?' || text[i] == '&') && i + 1 < text.size()) {
      size_t eq = i + 1;
      while (eq < text.size() && text[eq] != '=' && !ends_value(text[eq]) && text[eq] != '?') {
        ++eq;
      }
      if (eq < text.size() && text[eq] == '=' && secret_param(text.substr(i + 1, eq - i - 1))) {
        size_t end = eq + 1;
        while (end < text.size() && !ends_value(text[end])) {
          ++end;
        }
        out.append(text.substr(i, eq + 1 - i));
        out += "***";
        i = end;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

std::string strip_userinfo(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    return std::string(url);
  }
  size_t start = scheme + 3;
  size_t end = start;
  while (end < url.size() && url[end] != '/' && url[end] != '?' && url[end] != '#') {
    ++end;
  }
  size_t at = url.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) {
    return std::string(url);
  }
  return std::string(url.substr(0, start)) + std::string(url.substr(start + at + 1));
}

}  // namespace zipllm
