#include "git/hooks.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

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

bool push_args_quiet(const std::vector<std::string>& argv) {
  if (argv.empty() || std::filesystem::path(argv[0]).filename() != "git") {
    return false;
  }
  bool push = false, quiet = false;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!push) {
      // git's own options come before the command; -c and -C take a value.
      if (a == "-c" || a == "-C") {
        ++i;
      } else if (a == "push") {
        push = true;
      } else if (a.empty() || a[0] != '-') {
        return false;  // another command
      }
      continue;
    }
    if (a == "--") {
      break;
    }
    if (a == "--quiet" || a == "--no-quiet") {
      quiet = a == "--quiet";  // the last one wins
      continue;
    }
    // Short options may be bundled (-qf); -o takes a value, after which
    // the rest of the word is that value.
    if (a.size() >= 2 && a[0] == '-' && a[1] != '-') {
      for (size_t k = 1; k < a.size(); ++k) {
        if (a[k] == 'o') {
          break;
        }
        quiet = quiet || a[k] == 'q';
      }
      if (a == "-o") {
        ++i;
      }
    }
  }
  return quiet;
}

bool push_is_quiet() {
  pid_t pid = ::getppid();
  // git-zipllm <- git (the `git zipllm` dispatcher) <- sh (the hook) <-
  // git push; a few levels more for wrappers.
  for (int level = 0; level < 6 && pid > 1; ++level) {
    std::string proc = "/proc/" + std::to_string(pid);
    // /proc files have no size: read them as streams.
    std::ifstream cmd_in(proc + "/cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(cmd_in)), std::istreambuf_iterator<char>());
    if (cmdline.empty()) {
      return false;
    }
    std::vector<std::string> argv;
    std::string cur;
    for (char c : cmdline) {
      if (c == 0) {
        argv.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (push_args_quiet(argv)) {
      return true;
    }
    std::ifstream stat_in(proc + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat_in)), std::istreambuf_iterator<char>());
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    size_t close = text.rfind(')');
    if (close == std::string::npos) {
      return false;
    }
    int ppid = 0;
    if (std::sscanf(text.c_str() + close + 1, " %*c %d", &ppid) != 1) {
      return false;
    }
    pid = ppid;
  }
  return false;
}

}  // namespace zipllm::git
