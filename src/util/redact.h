// Secrets out of text shown to people: messages, progress lines, traces,
// config keys. Credentials in URLs ("https://alice:TOKEN@host",
// "?endpoint=http://bob:PW@host") and secret-looking query parameters
// (signatures, tokens, passwords) are replaced by "***"; everything else is
// left as it was. Pure; safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace zipllm {

std::string redact(std::string_view text);

// A URL without its user information ("https://user:pw@host/x" ->
// "https://host/x"): the form to use as a key (git-lfs matches URL config
// keys without the user part), never written with a secret in it.
std::string strip_userinfo(std::string_view url);

}  // namespace zipllm
