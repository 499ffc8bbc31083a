#include "git/path_filter.h"

#include <fnmatch.h>

#include "git/settings.h"

namespace zipllm::git {

std::vector<std::string> split_patterns(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    size_t at = 0;
    while (at <= v.size()) {
      size_t comma = v.find(',', at);
      std::string p = v.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
      while (!p.empty() && p.front() == ' ') {
        p.erase(p.begin());
      }
      while (!p.empty() && (p.back() == ' ' || p.back() == '/')) {
        p.pop_back();
      }
      while (p.rfind("./", 0) == 0) {
        p = p.substr(2);
      }
      if (!p.empty()) {
        out.push_back(p);
      }
      if (comma == std::string::npos) {
        break;
      }
      at = comma + 1;
    }
  }
  return out;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    out += (out.empty() ? "" : ",") + s;
  }
  return out;
}

}  // namespace

bool path_matches(const std::string& pattern, const std::string& path) {
  if (pattern == path || path.rfind(pattern + "/", 0) == 0 ||
      ::fnmatch(pattern.c_str(), path.c_str(), 0) == 0) {
    return true;
  }
  if (pattern.find('/') == std::string::npos) {
    std::string base = path.substr(path.rfind('/') + 1);
    return ::fnmatch(pattern.c_str(), base.c_str(), 0) == 0;
  }
  // A folder pattern with globs: `ft*` takes `ftA/model.safetensors`.
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    if (::fnmatch(pattern.c_str(), path.substr(0, slash).c_str(), FNM_PATHNAME) == 0) {
      return true;
    }
  }
  return false;
}

bool PathFilter::allows(const std::string& path) const {
  bool in = include.empty();
  for (const auto& p : include) {
    in = in || path_matches(p, path);
  }
  if (!in) {
    return false;
  }
  for (const auto& p : exclude) {
    if (path_matches(p, path)) {
      return false;
    }
  }
  return true;
}

std::string PathFilter::describe() const {
  std::string out;
  if (!include.empty()) {
    out += "--include " + join(include);
  }
  if (!exclude.empty()) {
    out += std::string(out.empty() ? "" : " ") + "--exclude " + join(exclude);
  }
  return out;
}

PathFilter PathFilter::from(Repo& repo, const std::vector<std::string>& include,
                            const std::vector<std::string>& exclude) {
  PathFilter f;
  f.include = split_patterns(include);
  f.exclude = split_patterns(exclude);
  if (include.empty() || exclude.empty()) {
    Settings s = Settings::load(repo);
    if (include.empty()) {
      if (auto v = s.get("zipllm.fetchinclude")) {
        f.include = split_patterns({*v});
      }
    }
    if (exclude.empty()) {
      if (auto v = s.get("zipllm.fetchexclude")) {
        f.exclude = split_patterns({*v});
      }
    }
  }
  return f;
}

}  // namespace zipllm::git
