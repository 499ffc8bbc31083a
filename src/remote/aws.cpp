#include "remote/aws.h"

#include "util/file.h"

#include <algorithm>
#include <cstdlib>

namespace zipllm::remote {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r");
  size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::string aws_file(const char* override_var, const char* name) {
  std::string p = env(override_var);
  if (!p.empty()) {
    return p;
  }
  std::string home = env("HOME");
  return home.empty() ? "" : home + "/.aws/" + name;
}

std::map<std::string, std::map<std::string, std::string>> load_ini(const std::string& path) {
  if (path.empty()) {
    return {};
  }
  auto bytes = read_whole_file(path, 1 << 20);
  if (!bytes) {
    return {};
  }
  return parse_aws_ini(std::string(bytes->begin(), bytes->end()));
}

std::string profile() {
  std::string p = env("AWS_PROFILE");
  return p.empty() ? "default" : p;
}

}  // namespace

std::map<std::string, std::map<std::string, std::string>> parse_aws_ini(const std::string& text) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::string section;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';') {
      continue;
    }
    if (line.front() == '[' && line.back() == ']') {
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos || section.empty()) {
      continue;
    }
    std::string key = trim(line.substr(0, eq));
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    out[section][key] = trim(line.substr(eq + 1));
  }
  return out;
}

std::optional<AwsCredentials> aws_credentials() {
  AwsCredentials c;
  c.key_id = env("AWS_ACCESS_KEY_ID");
  c.secret = env("AWS_SECRET_ACCESS_KEY");
  c.session_token = env("AWS_SESSION_TOKEN");
  if (!c.key_id.empty() && !c.secret.empty()) {
    return c;
  }
  auto ini = load_ini(aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials"));
  auto it = ini.find(profile());
  if (it == ini.end()) {
    return std::nullopt;
  }
  c.key_id = it->second["aws_access_key_id"];
  c.secret = it->second["aws_secret_access_key"];
  c.session_token = it->second["aws_session_token"];
  if (c.key_id.empty() || c.secret.empty()) {
    return std::nullopt;
  }
  return c;
}

std::optional<std::string> aws_region() {
  for (const char* var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (std::string v = env(var); !v.empty()) {
      return v;
    }
  }
  auto ini = load_ini(aws_file("AWS_CONFIG_FILE", "config"));
  std::string p = profile();
  for (const std::string& section : {p == "default" ? p : "profile " + p, p}) {
    auto it = ini.find(section);
    if (it != ini.end() && it->second.count("region")) {
      return it->second["region"];
    }
  }
  return std::nullopt;
}

std::optional<std::string> aws_endpoint() {
  for (const char* var : {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
    if (std::string v = env(var); !v.empty()) {
      return v;
    }
  }
  return std::nullopt;
}

}  // namespace zipllm::remote
