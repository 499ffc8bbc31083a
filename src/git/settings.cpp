#include "git/settings.h"

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "format/manifest.h"
#include "util/file.h"
#include "util/redact.h"

namespace zipllm::git {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r");
  size_t b = s.find_last_not_of(" \t\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// A value: quotes removed, escapes \" \\ \n \t, comments outside quotes cut.
std::string config_value(const std::string& raw) {
  std::string out;
  bool quoted = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '"') {
      quoted = !quoted;
    } else if (c == '\\' && i + 1 < raw.size()) {
      char n = raw[++i];
      out += n == 'n' ? '\n' : n == 't' ? '\t' : n;
    } else if (!quoted && (c == '#' || c == ';')) {
      break;
    } else {
      out += c;
    }
  }
  return trim(out);
}

}  // namespace

std::map<std::string, std::string> parse_git_config(const std::string& text) {
  std::map<std::string, std::string> out;
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
    if (line[0] == '[') {
      size_t close = line.rfind(']');
      if (close == std::string::npos) {
        section.clear();
        continue;
      }
      std::string inside = line.substr(1, close - 1);
      size_t q = inside.find('"');
      if (q == std::string::npos) {
        section = lower(trim(inside));
      } else {
        size_t q2 = inside.rfind('"');
        section = lower(trim(inside.substr(0, q))) + "." + inside.substr(q + 1, q2 - q - 1);
      }
      line = trim(line.substr(close + 1));
      if (line.empty()) {
        continue;
      }
    }
    if (section.empty()) {
      continue;
    }
    size_t eq = line.find('=');
    std::string key = lower(trim(line.substr(0, eq)));
    std::string value = eq == std::string::npos ? "true" : config_value(line.substr(eq + 1));
    out[section + "." + key] = value;
  }
  return out;
}

Settings Settings::load(Repo& repo) {
  Settings s(repo);
  std::optional<std::string> text;
  if (auto wd = repo.workdir()) {
    if (auto bytes = read_whole_file(*wd + "/.zipllmconfig", 1 << 20)) {
      text = std::string(bytes->begin(), bytes->end());
    }
  }
  for (const char* spec : {":.zipllmconfig", "HEAD:.zipllmconfig"}) {
    if (!text) {
      if (auto b = repo.blob(spec, 1 << 20); b && *b) {
        text = **b;
      }
    }
  }
  if (text) {
    s.m_file = parse_git_config(*text);
  }
  return s;
}

std::optional<std::string> Settings::committed(const std::string& key) const {
  // Section and variable names are case-insensitive; subsections are not.
  std::string k = key;
  size_t first = k.find('.');
  size_t last = k.rfind('.');
  std::string norm =
      lower(k.substr(0, first)) + k.substr(first, last - first) + lower(k.substr(last));
  auto it = m_file.find(norm);
  if (it == m_file.end()) {
    return std::nullopt;
  }
  return it->second;
}

bool needs_trust(const std::string& key) {
  std::string k = lower(key);
  return k == "zipllm.url" || k == "zipllm.s3endpoint" ||
         (k.rfind("remote.", 0) == 0 && k.size() > 10 &&
          k.compare(k.size() - 10, 10, ".zipllmurl") == 0);
}

std::optional<std::string> Settings::committed_trusted(const std::string& key) {
  auto v = committed(key);
  if (!v || !needs_trust(key)) {
    return v;
  }
  if (auto mine = m_repo->config_string(key); mine && *mine == *v) {
    return v;
  }
  if (auto all = m_repo->config_string("zipllm.trustcommitted");
      all && (*all == "true" || *all == "1" || *all == "yes" || *all == "on")) {
    return v;
  }
  std::string entry = lower(key) + "=" + *v;
  for (const auto& t : m_repo->config_strings("zipllm.trusted")) {
    if (t == entry) {
      return v;
    }
  }
  std::string shown = key + " = " + *v;
  if (std::find(m_untrusted.begin(), m_untrusted.end(), shown) == m_untrusted.end()) {
    m_untrusted.push_back(shown);
  }
  return std::nullopt;
}

std::optional<std::string> Settings::get(const std::string& key) {
  if (auto v = m_repo->config_string(key)) {
    return v;
  }
  return committed_trusted(key);
}

std::string trust_hint(const Settings& s) {
  if (s.untrusted().empty()) {
    return "";
  }
  std::string list;
  for (const auto& u : s.untrusted()) {
    list += (list.empty() ? "" : ", ") + u;
  }
  return "the committed .zipllmconfig sets " + list +
         ", which is not used until you trust it (a repository's author must not choose where your "
         "data "
         "and credentials go): review .zipllmconfig, then run `git zipllm trust`";
}

remote::S3Settings Settings::s3() {
  remote::S3Settings s;
  s.endpoint = get("zipllm.s3endpoint").value_or("");
  s.region = get("zipllm.s3region").value_or("");
  if (auto p = get("zipllm.s3pathstyle")) {
    s.path_style = *p == "true" || *p == "1" || *p == "yes" || *p == "on";
  }
  // Only the user's own config may allow credentials over plain HTTP.
  if (auto h = m_repo->config_string("zipllm.s3allowhttp")) {
    s.allow_http = *h == "true" || *h == "1" || *h == "yes" || *h == "on";
  }
  return s;
}

Result<RemoteTarget> resolve_remote_store(Repo& repo, Settings& settings,
                                          const std::string& given) {
  RemoteTarget t;
  t.remote = given.empty() ? repo.default_remote().value_or("") : given;
  std::vector<std::string> names;
  if (!t.remote.empty()) {
    names.push_back("remote." + t.remote + ".zipllmurl");
  }
  names.push_back("zipllm.url");
  for (const auto& key : names) {
    if (auto v = repo.config_string(key); v && !v->empty()) {
      t.url = *v;
      t.how = key + " (git config)";
      return t;
    }
  }
  for (const auto& key : names) {
    if (auto v = settings.committed_trusted(key); v && !v->empty()) {
      t.url = *v;
      t.how = key + " (.zipllmconfig)";
      return t;
    }
  }
  t.note = trust_hint(settings);
  std::string git_url = t.remote.empty() ? "" : repo.remote_url(t.remote).value_or(t.remote);
  if (auto path = Repo::local_path_of(git_url)) {
    if (auto other = Repo::open_at(*path)) {
      t.url = other->store_path();
      t.how = "the store inside the local repository " + git_url;
      return t;
    }
  }
  std::string hint = trust_hint(settings);
  if (!hint.empty()) {
    return make_error(Errc::NotFound, "no trusted zipllm store: " + hint);
  }
  if (t.remote.empty()) {
    return make_error(
        Errc::NotFound,
        "no zipllm store configured and no git remote to default to; set one with "
        "`git config zipllm.url s3://bucket/prefix` (or a path), or in .zipllmconfig");
  }
  return make_error(
      Errc::NotFound,
      "no zipllm store configured for remote '" + t.remote + "'" +
          (git_url.empty() || git_url == t.remote ? "" : " (" + redact(git_url) + ")") +
          "; set one with `git config remote." + t.remote +
          ".zipllmurl s3://bucket/prefix` (or a path), or zipllm.url in .zipllmconfig");
}

std::string missing_objects_hint(const RemoteTarget& t) {
  std::string key =
      "remote." + (t.remote.empty() ? std::string("origin") : t.remote) + ".zipllmurl";
  return "looked in " + redact(t.url) + " (" + t.how +
         "); if the models were pushed to another zipllm store, point this clone at it with "
         "`git config " +
         key +
         " URL`, and let every clone find it by committing `url = URL` under [zipllm] in "
         ".zipllmconfig";
}

void tell_once(const std::string& note) {
  static std::once_flag once;
  if (!note.empty()) {
    std::call_once(once,
                   [&] { std::fprintf(stderr, "git-zipllm: note: %s\n", redact(note).c_str()); });
  }
}

Result<std::unique_ptr<remote::RemoteStore>> open_remote_store(Repo& repo, Settings& settings,
                                                               const std::string& remote,
                                                               RemoteTarget* target) {
  RemoteTarget t = TRY(resolve_remote_store(repo, settings, remote));
  tell_once(t.note);
  auto r = remote::open_remote(t.url, settings.s3());
  if (!r) {
    return std::move(r).error().context("zipllm store from " + t.how);
  }
  if (target) {
    *target = t;
  }
  return r;
}

}  // namespace zipllm::git
