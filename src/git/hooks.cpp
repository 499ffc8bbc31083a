#include "git/hooks.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "util/file.h"
#include "zipllm_hooks.h"

namespace zipllm::git {

namespace {

constexpr std::string_view k_marker = "# git-zipllm hook v1";
constexpr std::string_view k_chained_suffix = ".zipllm-chained";

std::optional<std::string> read_text(const std::string& path) {
  auto bytes = read_whole_file(path, 1 << 20);
  if (!bytes) {
    return std::nullopt;
  }
  return std::string(bytes->begin(), bytes->end());
}

bool is_ours(const std::string& path) {
  auto text = read_text(path);
  return text && text->find(k_marker) != std::string::npos;
}

Status write_hook(const std::string& path, const char* text) {
  auto f = TRY(AtomicFile::create(path, 0755));
  TRY_STATUS(
      f.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text), std::strlen(text))));
  return f.commit();
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::string hooks_dir(Repo& repo) {
  if (auto p = repo.config_string("core.hooksPath"); p && !p->empty()) {
    std::string dir = *p;
    if (dir[0] == '~' && std::getenv("HOME")) {
      dir = std::string(std::getenv("HOME")) + dir.substr(1);
    }
    if (dir[0] != '/') {
      dir = repo.workdir().value_or(repo.common_dir()) + "/" + dir;
    }
    return dir;
  }
  return repo.common_dir() + "/hooks";
}

Result<std::vector<std::string>> install_hooks(Repo& repo) {
  std::string dir = hooks_dir(repo);
  TRY_STATUS(make_dirs(dir));
  std::vector<std::string> done;
  for (const HookText& h : k_hooks) {
    std::string path = dir + "/" + h.name;
    std::string chained = path + std::string(k_chained_suffix);
    if (exists(path) && !is_ours(path)) {
      if (exists(chained)) {
        return make_error(Errc::InvalidArgument,
                          "cannot install the " + std::string(h.name) + " hook: both " + path +
                              " and " + chained + " exist and neither is ours; merge them by hand");
      }
      if (::rename(path.c_str(), chained.c_str()) != 0) {
        return os_error("cannot move the existing hook aside to", chained, errno);
      }
      TRY_STATUS(write_hook(path, h.text));
      done.push_back(std::string(h.name) + ": installed, chaining to the hook that was there (" +
                     chained + ")");
      continue;
    }
    auto have = read_text(path);
    if (have && *have == h.text) {
      continue;  // already current
    }
    TRY_STATUS(write_hook(path, h.text));
    done.push_back(std::string(h.name) + (have ? ": updated" : ": installed"));
  }
  return done;
}

void install_missing_hooks(Repo& repo) {
  std::string dir = hooks_dir(repo);
  for (const HookText& h : k_hooks) {
    std::string path = dir + "/" + h.name;
    if (!exists(path) && !exists(path + std::string(k_chained_suffix)) && make_dirs(dir)) {
      (void)write_hook(path, h.text);
    }
  }
}

Result<std::vector<std::string>> uninstall_hooks(Repo& repo) {
  std::string dir = hooks_dir(repo);
  std::vector<std::string> done;
  for (const HookText& h : k_hooks) {
    std::string path = dir + "/" + h.name;
    std::string chained = path + std::string(k_chained_suffix);
    if (!exists(path) || !is_ours(path)) {
      continue;
    }
    if (::unlink(path.c_str()) != 0) {
      return os_error("cannot remove", path, errno);
    }
    if (exists(chained)) {
      if (::rename(chained.c_str(), path.c_str()) != 0) {
        return os_error("cannot restore the chained hook", chained, errno);
      }
      done.push_back(std::string(h.name) + ": removed, previous hook restored");
    } else {
      done.push_back(std::string(h.name) + ": removed");
    }
  }
  return done;
}

}  // namespace zipllm::git
