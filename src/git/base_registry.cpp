#include "git/base_registry.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "ops/ingest.h"

namespace zipllm::git {

namespace fs = std::filesystem;

namespace {

std::string bases_dir(const ModelStore& store) {
  return store.local->root() + "/bases";
}

Status write_text(const std::string& path, const std::string& text) {
  AtomicFile a = TRY(AtomicFile::create(path, 0644));
  TRY_STATUS(a.write(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
  return a.commit();
}

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r\"'");
  size_t b = s.find_last_not_of(" \t\r\"'");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

}  // namespace

bool valid_base_name(const std::string& name) {
  if (name.empty() || name.size() > 200 || name.front() == '/' || name.back() == '/' ||
      name.find("..") != std::string::npos || name.find("//") != std::string::npos) {
    return false;
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
          c == '/')) {
      return false;
    }
  }
  return true;
}

Status register_base(ModelStore& store, const std::string& name,
                     const std::vector<std::string>& files, ThreadPool& pool, bool force) {
  if (!valid_base_name(name)) {
    return make_error(Errc::InvalidArgument, "'" + name +
                                                 "' is not a valid base name (use letters, digits, "
                                                 "'.', '_', '-' and '/', like org/model)");
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : files) {
    ops::IngestReport rep;
    format::Manifest m = TRY(ops::ingest_file(f, nullptr, store.resolver, *store.local, pool,
                                              ops::IngestOptions{}, &rep));
    std::string shard = fs::path(f).filename().string();
    for (const auto& [s, text] : out) {
      if (s == shard) {
        return make_error(Errc::InvalidArgument, "two shards are named " + shard);
      }
    }
    out.emplace_back(shard, format::serialize_manifest(m));
  }
  if (auto existing = TRY(load_base(store, name))) {
    std::vector<std::string> before, after;
    for (const auto& [shard, m] : existing->shards) {
      before.push_back(shard + "\n" + format::serialize_manifest(m));
    }
    for (const auto& [shard, text] : out) {
      after.push_back(shard + "\n" + text);
    }
    std::sort(before.begin(), before.end());
    std::sort(after.begin(), after.end());
    if (before == after) {
      return {};  // the same files again
    }
    if (!force) {
      return make_error(Errc::InvalidArgument,
                        "base " + name +
                            " is already registered with other files; `git zipllm base add "
                            "--force " +
                            name + " FILE...` re-points it (`git zipllm base list` shows it)");
    }
  }
  std::string dir = bases_dir(store) + "/" + name;
  std::error_code ec;
  fs::remove_all(dir, ec);
  TRY_STATUS(make_dirs(dir));
  for (const auto& [shard, text] : out) {
    TRY_STATUS(write_text(dir + "/" + shard + ".manifest", text));
  }
  return {};
}

Status remove_base(ModelStore& store, const std::string& name) {
  if (!TRY(load_base(store, name))) {
    return make_error(Errc::NotFound, "no base named " + name + " is registered");
  }
  std::error_code ec;
  fs::remove_all(bases_dir(store) + "/" + name, ec);
  if (ec) {
    return make_error(Errc::IoError,
                      bases_dir(store) + "/" + name + ": cannot remove: " + ec.message());
  }
  return {};
}

Result<std::optional<RegisteredBase>> load_base(const ModelStore& store, const std::string& name) {
  if (!valid_base_name(name)) {
    return std::optional<RegisteredBase>();
  }
  std::string dir = bases_dir(store) + "/" + name;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return std::optional<RegisteredBase>();
  }
  RegisteredBase rb;
  rb.name = name;
  std::vector<fs::path> files;
  for (const auto& e : list_dir(dir)) {
    if (fs::path(e).extension() == ".manifest" && is_plain_file(e)) {
      files.push_back(e);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& p : files) {
    auto bytes = TRY(read_whole_file(p.string(), format::k_max_manifest_size));
    auto m = TRY_CTX(format::parse_manifest(std::string(bytes.begin(), bytes.end())), p.string());
    std::string shard = p.filename().string();
    rb.shards.emplace_back(shard.substr(0, shard.size() - 9), std::move(m));
  }
  if (rb.shards.empty()) {
    return std::optional<RegisteredBase>();
  }
  return std::optional<RegisteredBase>(std::move(rb));
}

std::vector<std::string> list_bases(const ModelStore& store) {
  std::vector<std::string> names;
  std::error_code ec;
  std::string root = bases_dir(store);
  for (const auto& f : list_files_recursive(root)) {
    fs::path e(f);
    if (e.extension() == ".manifest") {
      std::string name = fs::relative(e.parent_path(), root, ec).string();
      if (names.empty() || names.back() != name) {
        names.push_back(name);
      }
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

Status write_committed_base(Repo& repo, const std::string& name) {
  auto wd = repo.workdir();
  if (!wd) {
    return {};  // a bare repository: nothing to commit
  }
  auto store = TRY(ModelStore::open_local(repo));
  auto rb = TRY(load_base(*store, name));
  if (!rb) {
    return make_error(Errc::NotFound, "no base named " + name + " is registered");
  }
  std::string dir = *wd + "/" + k_committed_bases_dir + "/" + name;
  std::error_code ec;
  fs::remove_all(dir, ec);
  TRY_STATUS(make_dirs(dir));
  for (const auto& [shard, m] : rb->shards) {
    TRY_STATUS(write_text(dir + "/" + shard + ".manifest", format::serialize_manifest(m)));
  }
  return {};
}

Status remove_committed_base(Repo& repo, const std::string& name) {
  auto wd = repo.workdir();
  if (!wd || !valid_base_name(name)) {
    return {};
  }
  std::error_code ec;
  fs::remove_all(*wd + "/" + k_committed_bases_dir + "/" + name, ec);
  if (ec) {
    return make_error(Errc::IoError, std::string(k_committed_bases_dir) + "/" + name +
                                         ": cannot remove: " + ec.message());
  }
  return {};
}

void import_committed_bases(Repo& repo, const ModelStore& store) {
  static std::mutex mutex;
  static std::set<std::string> done;
  {
    std::lock_guard lock(mutex);
    if (!done.insert(store.local->root()).second) {
      return;
    }
  }
  auto wd = repo.workdir();
  if (!wd) {
    return;
  }
  std::string root = *wd + "/" + k_committed_bases_dir;
  if (!is_plain_dir(root)) {
    return;  // never through a symbolic link
  }
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> by_name;
  for (const auto& f : list_files_recursive(root)) {
    fs::path p(f);
    if (p.extension() != ".manifest" || !is_plain_file(f)) {
      continue;
    }
    std::error_code ec;
    std::string name = fs::relative(p.parent_path(), root, ec).string();
    auto text = read_whole_file(f, format::k_max_manifest_size);
    if (ec || !valid_base_name(name) || !text ||
        !format::parse_manifest(std::string(text->begin(), text->end()))) {
      continue;
    }
    by_name[name].emplace_back(p.stem().string(), std::string(text->begin(), text->end()));
  }
  for (const auto& [name, shards] : by_name) {
    if (auto have = load_base(store, name); !have || *have) {
      continue;
    }
    std::string dir = bases_dir(store) + "/" + name;
    if (!make_dirs(dir)) {
      continue;
    }
    for (const auto& [shard, text] : shards) {
      (void)write_text(dir + "/" + shard + ".manifest", text);
    }
  }
}

std::string model_card_relation(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || trim(line) != "---") {
    return "";
  }
  while (std::getline(in, line) && trim(line) != "---") {
    if (line.rfind("base_model_relation:", 0) == 0) {
      return trim(line.substr(20));
    }
  }
  return "";
}

std::vector<std::string> model_card_bases(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line) || trim(line) != "---") {
    return out;
  }
  bool in_list = false;
  while (std::getline(in, line)) {
    if (trim(line) == "---") {
      break;
    }
    if (in_list) {
      std::string t = trim(line);
      if (t.rfind("- ", 0) == 0) {
        out.push_back(trim(t.substr(2)));
        continue;
      }
      in_list = false;
    }
    if (line.rfind("base_model:", 0) == 0) {
      std::string v = trim(line.substr(11));
      if (v.empty()) {
        in_list = true;
      } else if (v.front() == '[') {
        v = v.substr(1, v.find(']') == std::string::npos ? std::string::npos : v.find(']') - 1);
        std::istringstream items(v);
        std::string item;
        while (std::getline(items, item, ',')) {
          if (!trim(item).empty()) {
            out.push_back(trim(item));
          }
        }
      } else {
        out.push_back(v);
      }
    }
  }
  return out;
}

}  // namespace zipllm::git
