#include "remote/aws.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "remote/http.h"
#include "remote/sigv4.h"
#include "util/file.h"

namespace zipllm::remote {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  size_t b = s.find_last_not_of(" \t\r\n");
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

// The section of the config file for the profile.
std::optional<std::map<std::string, std::string>> config_section() {
  auto ini = load_ini(aws_file("AWS_CONFIG_FILE", "config"));
  std::string p = profile();
  for (const std::string& section : {p == "default" ? p : "profile " + p, p}) {
    auto it = ini.find(section);
    if (it != ini.end()) {
      return it->second;
    }
  }
  return std::nullopt;
}

std::optional<std::map<std::string, std::string>> credentials_section() {
  auto ini = load_ini(aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials"));
  auto it = ini.find(profile());
  if (it == ini.end()) {
    return std::nullopt;
  }
  return it->second;
}

bool has_source(const std::map<std::string, std::string>& s) {
  auto get = [&](const char* k) {
    auto it = s.find(k);
    return it == s.end() ? std::string() : it->second;
  };
  return (!get("aws_access_key_id").empty() && !get("aws_secret_access_key").empty()) ||
         !get("credential_process").empty();
}

Result<AwsCredentials> from_section(const std::map<std::string, std::string>& s,
                                    const std::string& where) {
  auto get = [&](const char* k) {
    auto it = s.find(k);
    return it == s.end() ? std::string() : it->second;
  };
  if (!get("aws_access_key_id").empty() && !get("aws_secret_access_key").empty()) {
    AwsCredentials c;
    c.key_id = get("aws_access_key_id");
    c.secret = get("aws_secret_access_key");
    c.session_token = get("aws_session_token");
    c.source = where;
    return c;
  }
  // credential_process: a command that prints the credentials as JSON.
  std::string cmd = get("credential_process");
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    return os_error("cannot run credential_process of profile " + profile() + ":", cmd, errno);
  }
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0 && out.size() < (1 << 20)) {
    out.append(buf, n);
  }
  int status = ::pclose(p);
  if (status != 0) {
    return make_error(Errc::InvalidArgument, "credential_process of profile " + profile() + " in " +
                                                 where + " failed (exit status " +
                                                 std::to_string(WEXITSTATUS(status)) + ")");
  }
  return parse_credentials_json(out, "credential_process (" + where + ")");
}

Result<std::string> read_token_file(const std::string& path, const std::string& what) {
  auto bytes = read_whole_file(path, 1 << 20);
  if (!bytes) {
    return std::move(bytes).error().context(what);
  }
  return trim(std::string(bytes->begin(), bytes->end()));
}

Result<AwsCredentials> web_identity() {
  std::string token =
      TRY(read_token_file(env("AWS_WEB_IDENTITY_TOKEN_FILE"), "AWS_WEB_IDENTITY_TOKEN_FILE"));
  std::string session = env("AWS_ROLE_SESSION_NAME");
  if (session.empty()) {
    session = "git-zipllm-" + std::to_string(std::time(nullptr));
  }
  std::string endpoint = env("AWS_ENDPOINT_URL_STS");
  if (endpoint.empty()) {
    endpoint = env("AWS_ENDPOINT_URL");
  }
  if (endpoint.empty()) {
    endpoint = "https://sts." + aws_region().value_or("us-east-1") + ".amazonaws.com";
  }
  while (!endpoint.empty() && endpoint.back() == '/') {
    endpoint.pop_back();
  }
  http::Request req;
  req.method = "POST";
  req.url = endpoint + "/";
  req.timeout_ms = 30000;
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/xml"}};
  req.body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" +
             aws_uri_encode(env("AWS_ROLE_ARN"), false) +
             "&RoleSessionName=" + aws_uri_encode(session, false) +
             "&WebIdentityToken=" + aws_uri_encode(token, false);
  auto resp = TRY_CTX(http::perform(req), "web identity credentials (STS)");
  if (resp.status != 200) {
    std::string why = http::xml_value(resp.body, "Message");
    return make_error(resp.status >= 500 ? Errc::Unavailable : Errc::InvalidArgument,
                      "web identity credentials: STS at " + endpoint + " answered HTTP " +
                          std::to_string(resp.status) + (why.empty() ? "" : " (" + why + ")") +
                          " for role " + env("AWS_ROLE_ARN"));
  }
  return parse_sts_credentials(resp.body);
}

Result<AwsCredentials> container() {
  std::string url;
  if (std::string rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); !rel.empty()) {
    url = "http://169.254.170.2" + rel;
  } else {
    url = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    bool allowed = url.rfind("https://", 0) == 0 || http::is_loopback(url) ||
                   url.rfind("http://169.254.170.2", 0) == 0 ||
                   url.rfind("http://169.254.170.23", 0) == 0;
    if (!allowed) {
      return make_error(Errc::InvalidArgument, "AWS_CONTAINER_CREDENTIALS_FULL_URI " + url +
                                                   " must be https or on this machine");
    }
  }
  http::Request req;
  req.url = url;
  req.timeout_ms = 5000;
  req.connect_timeout_ms = 2000;
  std::string auth = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  if (std::string file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); !file.empty()) {
    auth = TRY(read_token_file(file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"));
  }
  if (!auth.empty()) {
    req.headers.emplace_back("Authorization", auth);
  }
  auto resp = TRY_CTX(http::perform(req), "container credentials");
  if (resp.status != 200) {
    return make_error(Errc::Unavailable,
                      "container credentials at " + url + ": HTTP " + std::to_string(resp.status));
  }
  return parse_credentials_json(resp.body, "container credentials");
}

// IMDSv2; nothing when there is no instance metadata service (not on EC2).
Result<std::optional<AwsCredentials>> instance_metadata() {
  std::string base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (base.empty()) {
    base = "http://169.254.169.254";
  }
  while (!base.empty() && base.back() == '/') {
    base.pop_back();
  }
  http::Request tok;
  tok.method = "PUT";
  tok.url = base + "/latest/api/token";
  tok.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
  tok.connect_timeout_ms = 1000;
  tok.timeout_ms = 2000;
  auto token = http::perform(tok);
  if (!token || token->status != 200) {
    return std::optional<AwsCredentials>();  // no metadata service here
  }
  http::Request role_req;
  role_req.url = base + "/latest/meta-data/iam/security-credentials/";
  role_req.headers = {{"X-aws-ec2-metadata-token", trim(token->body)}};
  role_req.timeout_ms = 2000;
  auto role = TRY_CTX(http::perform(role_req), "instance metadata");
  if (role.status == 404) {
    return std::optional<AwsCredentials>();  // an instance without a role
  }
  std::string name = trim(role.body.substr(0, role.body.find('\n')));
  if (role.status != 200 || name.empty()) {
    return make_error(Errc::Unavailable,
                      "instance metadata: no IAM role (HTTP " + std::to_string(role.status) + ")");
  }
  http::Request creds_req = role_req;
  creds_req.url += name;
  auto creds = TRY_CTX(http::perform(creds_req), "instance metadata");
  if (creds.status != 200) {
    return make_error(Errc::Unavailable, "instance metadata credentials of role " + name +
                                             ": HTTP " + std::to_string(creds.status));
  }
  return std::optional<AwsCredentials>(
      TRY(parse_credentials_json(creds.body, "EC2 instance metadata (IMDSv2)")));
}

bool metadata_disabled() {
  std::string v = env("AWS_EC2_METADATA_DISABLED");
  std::transform(v.begin(), v.end(), v.begin(), ::tolower);
  return v == "true" || v == "1";
}

}  // namespace

std::time_t parse_iso8601(const std::string& s) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::time_t t = timegm(&tm);
  std::string rest = s.substr(static_cast<size_t>(consumed));
  if (!rest.empty() && rest[0] == '.') {
    size_t end = rest.find_first_not_of("0123456789", 1);
    rest = end == std::string::npos ? "" : rest.substr(end);
  }
  if (rest == "Z" || rest == "+00:00" || rest.empty()) {
    return t;
  }
  int sign = rest[0] == '-' ? -1 : 1;
  int hh = 0, mm = 0;
  if ((rest[0] == '+' || rest[0] == '-') &&
      std::sscanf(rest.c_str() + 1, "%2d:%2d", &hh, &mm) == 2) {
    return t - sign * (hh * 3600 + mm * 60);
  }
  return 0;
}

Result<AwsCredentials> parse_credentials_json(const std::string& text, const std::string& source) {
  using nlohmann::json;
  json j = json::parse(text, nullptr, false);
  auto str = [&](const char* k) {
    return j.is_object() && j.contains(k) && j[k].is_string() ? j[k].get<std::string>()
                                                              : std::string();
  };
  AwsCredentials c;
  c.key_id = str("AccessKeyId");
  c.secret = str("SecretAccessKey");
  c.session_token = str("SessionToken").empty() ? str("Token") : str("SessionToken");
  c.source = source;
  if (c.key_id.empty() || c.secret.empty()) {
    return make_error(Errc::InvalidArgument, source + " gave no AccessKeyId/SecretAccessKey");
  }
  if (std::string exp = str("Expiration"); !exp.empty()) {
    c.expires = parse_iso8601(exp);
    if (c.expires == 0) {
      return make_error(Errc::InvalidArgument,
                        source + " gave an unreadable Expiration '" + exp + "'");
    }
  }
  return c;
}

Result<AwsCredentials> parse_sts_credentials(const std::string& xml) {
  std::string creds = http::xml_value(xml, "Credentials");
  AwsCredentials c;
  c.key_id = trim(http::xml_value(creds, "AccessKeyId"));
  c.secret = trim(http::xml_value(creds, "SecretAccessKey"));
  c.session_token = trim(http::xml_value(creds, "SessionToken"));
  c.expires = parse_iso8601(trim(http::xml_value(creds, "Expiration")));
  c.source = "web identity (STS AssumeRoleWithWebIdentity)";
  if (c.key_id.empty() || c.secret.empty()) {
    return make_error(Errc::InvalidArgument,
                      "STS AssumeRoleWithWebIdentity answered without credentials");
  }
  return c;
}

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

std::shared_ptr<AwsCredentialProvider> AwsCredentialProvider::from_environment() {
  auto p = std::make_shared<AwsCredentialProvider>();
  if (!env("AWS_ACCESS_KEY_ID").empty() && !env("AWS_SECRET_ACCESS_KEY").empty()) {
    p->m_source = Source::Environment;
  } else if (!env("AWS_WEB_IDENTITY_TOKEN_FILE").empty() && !env("AWS_ROLE_ARN").empty()) {
    p->m_source = Source::WebIdentity;
  } else if (auto s = credentials_section(); s && has_source(*s)) {
    p->m_source = Source::SharedFile;
  } else if (auto c = config_section(); c && has_source(*c)) {
    p->m_source = Source::ConfigFile;
  } else if (!env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").empty() ||
             !env("AWS_CONTAINER_CREDENTIALS_FULL_URI").empty()) {
    p->m_source = Source::Container;
  } else if (!metadata_disabled()) {
    p->m_source = Source::InstanceMetadata;
  }
  return p;
}

Result<std::optional<AwsCredentials>> AwsCredentialProvider::fetch() {
  switch (m_source) {
    case Source::None:
      return std::optional<AwsCredentials>();
    case Source::Environment: {
      AwsCredentials c;
      c.key_id = env("AWS_ACCESS_KEY_ID");
      c.secret = env("AWS_SECRET_ACCESS_KEY");
      c.session_token = env("AWS_SESSION_TOKEN");
      c.source = "environment";
      return std::optional<AwsCredentials>(std::move(c));
    }
    case Source::WebIdentity:
      return std::optional<AwsCredentials>(TRY(web_identity()));
    case Source::SharedFile: {
      auto s = credentials_section();
      if (!s) {
        return make_error(Errc::InvalidArgument,
                          "profile " + profile() + " left the shared credentials file");
      }
      return std::optional<AwsCredentials>(
          TRY(from_section(*s, aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials"))));
    }
    case Source::ConfigFile: {
      auto s = config_section();
      if (!s) {
        return make_error(Errc::InvalidArgument, "profile " + profile() + " left the config file");
      }
      return std::optional<AwsCredentials>(
          TRY(from_section(*s, aws_file("AWS_CONFIG_FILE", "config"))));
    }
    case Source::Container:
      return std::optional<AwsCredentials>(TRY(container()));
    case Source::InstanceMetadata:
      return instance_metadata();
  }
  return std::optional<AwsCredentials>();
}

Result<std::optional<AwsCredentials>> AwsCredentialProvider::get() {
  std::lock_guard lock(m_mutex);
  std::time_t now = std::time(nullptr);
  bool fresh = m_cached && (m_cached->expires == 0 || now + 300 < m_cached->expires);
  if (fresh) {
    return m_cached;
  }
  auto got = fetch();
  if (!got) {
    if (m_cached && now < m_cached->expires) {
      return m_cached;  // still valid for a while: try again next time
    }
    return std::move(got).error();
  }
  if (m_source == Source::InstanceMetadata && !*got) {
    m_source = Source::None;  // not on EC2: do not ask again
  }
  m_cached = std::move(*got);
  return m_cached;
}

std::optional<std::string> aws_region() {
  for (const char* var : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (std::string v = env(var); !v.empty()) {
      return v;
    }
  }
  if (auto s = config_section(); s && s->count("region")) {
    return (*s)["region"];
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
