#include "git/git_command.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <thread>

#include "util/file.h"

extern char** environ;

namespace zipllm::git {

namespace {

// Runs git with stdout into `out_fd` when it is >= 0, else captured.
Result<CommandResult> spawn_git(const std::vector<std::string>& args, const std::string& input,
                                const std::vector<std::string>& extra_env, int out_fd) {
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0) {
    return os_error("cannot create a pipe for", "git", errno);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd >= 0 ? out_fd : out_pipe[1], 1);
  std::vector<std::string> argv_s = {"git"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> env_s(extra_env);
  std::vector<char*> envp;
  for (auto& e : env_s) {
    envp.push_back(e.data());
  }
  for (char** e = environ; *e; ++e) {
    envp.push_back(*e);  // an extra NAME= comes first, and getenv takes the first
  }
  envp.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, "git", &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (rc != 0) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    return make_error(Errc::IoError, std::string("cannot run git: ") + std::strerror(rc));
  }
  std::thread writer([fd = in_pipe[1], &input] {
    (void)write_all(
        fd, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(input.data()), input.size()),
        "git stdin");
    ::close(fd);
  });
  CommandResult res;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    res.output.append(buf, static_cast<size_t>(n));
  }
  ::close(out_pipe[0]);
  writer.join();
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  res.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return res;
}

}  // namespace

Result<CommandResult> run_git(const std::vector<std::string>& args, const std::string& input,
                              const std::vector<std::string>& extra_env) {
  return spawn_git(args, input, extra_env, -1);
}

Result<int> run_git_to_fd(const std::vector<std::string>& args, int out_fd) {
  auto r = TRY(spawn_git(args, "", {}, out_fd));
  return r.status;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      out.push_back(line);
    }
  }
  return out;
}

}  // namespace zipllm::git
