#include "git/hf_cache.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "util/file.h"

namespace zipllm::git {

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : "";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);  // links followed: the cache's own
}

bool is_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Result<std::vector<std::string>> weights_of(const std::string& snap) {
  std::string index = snap + "/model.safetensors.index.json";
  if (is_file(index)) {
    auto bytes = TRY(read_whole_file(index, 64u << 20));
    auto j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("weight_map") ||
        !j["weight_map"].is_object()) {
      return make_error(Errc::InvalidArgument, index + ": no weight_map object");
    }
    std::set<std::string> shards;
    for (const auto& [tensor, file] : j["weight_map"].items()) {
      if (!file.is_string() || file.get<std::string>().find('/') != std::string::npos) {
        return make_error(Errc::InvalidArgument, index + ": tensor '" + tensor +
                                                     "' maps to something that is not a file "
                                                     "name in the snapshot");
      }
      shards.insert(file.get<std::string>());
    }
    std::vector<std::string> out;
    for (const auto& s : shards) {
      if (!is_file(snap + "/" + s)) {
        return make_error(Errc::NotFound, index + " lists " + s +
                                              ", which the snapshot does not have (an "
                                              "interrupted download?)");
      }
      out.push_back(snap + "/" + s);
    }
    return out;
  }
  if (is_file(snap + "/model.safetensors")) {
    return std::vector<std::string>{snap + "/model.safetensors"};
  }
  std::vector<std::string> found;
  for (const auto& e : list_dir(snap)) {
    if (ends_with(e, ".safetensors") && is_file(e)) {
      found.push_back(e);
    }
  }
  if (found.size() > 1) {
    return make_error(Errc::InvalidArgument,
                      snap +
                          " holds several .safetensors files and no "
                          "model.safetensors.index.json saying which are the weights");
  }
  return found;
}

}  // namespace

std::string hf_hub_cache() {
  if (auto v = env_or_empty("HF_HUB_CACHE"); !v.empty()) {
    return v;
  }
  if (auto v = env_or_empty("HUGGINGFACE_HUB_CACHE"); !v.empty()) {
    return v;  // the older name
  }
  if (auto v = env_or_empty("HF_HOME"); !v.empty()) {
    return v + "/hub";
  }
  if (auto v = env_or_empty("XDG_CACHE_HOME"); !v.empty()) {
    return v + "/huggingface/hub";
  }
  return env_or_empty("HOME") + "/.cache/huggingface/hub";
}

Result<std::optional<HfModel>> hf_cached_model(const std::string& id) {
  // "org/name" -> models--org--name; only names a hub could hold.
  if (id.empty() || id.size() > 200 || id.find("..") != std::string::npos || id.front() == '/' ||
      std::count(id.begin(), id.end(), '/') > 1) {
    return std::optional<HfModel>();
  }
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
          c == '/')) {
      return std::optional<HfModel>();
    }
  }
  std::string folder = id;
  if (size_t slash = id.find('/'); slash != std::string::npos) {
    folder = id.substr(0, slash) + "--" + id.substr(slash + 1);
  }
  std::string repo = hf_hub_cache() + "/models--" + folder;
  std::string snap;
  if (auto ref = read_whole_file(repo + "/refs/main", 256)) {
    std::string commit = trim(std::string(ref->begin(), ref->end()));
    if (!commit.empty() && commit.find('/') == std::string::npos &&
        is_dir(repo + "/snapshots/" + commit)) {
      snap = repo + "/snapshots/" + commit;
    }
  }
  if (snap.empty()) {
    int64_t newest = -1;
    for (const auto& e : list_dir(repo + "/snapshots")) {
      struct stat st;
      if (::stat(e.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
          int64_t(st.st_mtim.tv_sec) > newest) {
        newest = st.st_mtim.tv_sec;
        snap = e;
      }
    }
  }
  if (snap.empty()) {
    return std::optional<HfModel>();
  }
  auto files = TRY(weights_of(snap));
  if (files.empty()) {
    return std::optional<HfModel>();
  }
  return std::optional<HfModel>(HfModel{snap, std::move(files)});
}

}  // namespace zipllm::git
