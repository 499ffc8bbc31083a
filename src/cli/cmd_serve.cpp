// git zipllm serve --store DIR|s3://BUCKET/PREFIX [--cache DIR] [--listen ADDR:PORT] [--auth FILE]
// ...
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "hub/http_server.h"
#include "util/file.h"
#include "util/hash.h"

namespace zipllm::cli {

namespace {

struct Args {
  std::string store;
  std::string cache;
  std::string listen = "127.0.0.1:8080";
  std::string auth;
  bool anonymous_push = false;
  unsigned threads = 16;
  unsigned max_uploads = 4;
  std::string public_url;
  std::string port_file;
};

Status run(const Args& a) {
  size_t colon = a.listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    try {
      port = std::stoi(a.listen.substr(colon + 1));
    } catch (...) {
      port = -1;
    }
  }
  if (port < 0 || port > 65535) {
    return make_error(Errc::InvalidArgument,
                      "--listen " + a.listen + ": expected ADDRESS:PORT (PORT 0 = any free port)");
  }
  // SIGTERM / SIGINT stop the server from a thread of their own (stopping
  // is not async-signal-safe). Blocked before any other thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  hub::HubOptions ho;
  ho.store = a.store;
  if (a.store.rfind("s3://", 0) == 0) {
    // The bucket holds the hub; this instance works in a cache directory.
    ho.shared = a.store;
    ho.store = a.cache;
    if (ho.store.empty()) {
      const char* xdg = std::getenv("XDG_CACHE_HOME");
      const char* home = std::getenv("HOME");
      if ((!xdg || !*xdg) && (!home || !*home)) {
        return make_error(Errc::InvalidArgument,
                          "--store " + a.store + " needs --cache DIR (no HOME to put it under)");
      }
      Sha256 sha;
      sha.update(ByteView(reinterpret_cast<const uint8_t*>(a.store.data()), a.store.size()));
      ho.store = (xdg && *xdg ? std::string(xdg) : std::string(home) + "/.cache") +
                 "/git-zipllm/hub-" + Sha256::hex(sha.finish()).substr(0, 16);
    }
    TRY_STATUS(make_dirs(ho.store));
  } else if (!a.cache.empty()) {
    return make_error(Errc::InvalidArgument,
                      "--cache is for a hub on S3 (--store s3://…); --store " + a.store +
                          " is a directory and holds everything itself");
  }
  ho.auth_file = a.auth;
  ho.anonymous_push = a.anonymous_push;
  ho.public_url = a.public_url;
  ho.max_uploads = std::max(1u, a.max_uploads);
  // Uploads past --max-uploads wait for a slot, each holding a server
  // thread: four threads stay for batch requests and downloads.
  const unsigned threads = std::max(2u, a.threads);
  ho.upload_waiters = threads > ho.max_uploads + 4 ? threads - ho.max_uploads - 4 : 0;
  auto h = TRY(hub::Hub::open(ho));

  std::thread waiter([set] {
    int sig = 0;
    sigwait(&set, &sig);
    hub::stop_serving();
  });
  waiter.detach();

  hub::ServeOptions so;
  so.host = a.listen.substr(0, colon);
  so.port = port;
  so.threads = a.threads;
  so.on_listening = [&](int p) {
    std::fprintf(stderr,
                 "git-zipllm: serving %s on http://%s:%d (Git LFS endpoint: "
                 "http://%s:%d/ORG/NAME.git/info/lfs)\n",
                 h->store_root().c_str(), so.host.c_str(), p, so.host.c_str(), p);
    if (!a.port_file.empty()) {
      if (auto f = AtomicFile::create(a.port_file, 0644, /*durable=*/false)) {
        std::string text = std::to_string(p) + "\n";
        if (f->write(ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()))) {
          (void)f->commit();
        }
      }
    }
  };
  TRY_STATUS(hub::serve(*h, so));
  std::fprintf(stderr, "git-zipllm: the hub stopped\n");
  return {};
}

}  // namespace

std::vector<Runner> add_serve(CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "serve", "Run a Git LFS server that stores models deduplicated and delta-coded (the hub)");
  cmd->add_option("--store", a->store,
                  "where the hub keeps everything: a directory, or s3://BUCKET[/PREFIX] (the "
                  "S3 settings of the environment: AWS_* credentials, AWS_ENDPOINT_URL or "
                  "?endpoint=…; several instances may share one bucket)")
      ->required();
  cmd->add_option("--cache", a->cache,
                  "with an s3:// store: this instance's working directory (uploads being "
                  "stored, objects fetched; default ~/.cache/git-zipllm/hub-HASH)");
  cmd->add_option("--listen", a->listen, "ADDRESS:PORT to listen on (default 127.0.0.1:8080)");
  cmd->add_option("--auth", a->auth,
                  "token file: lines 'TOKEN read|write ORG/NAME|ORG/*|* ...' (default: anyone "
                  "reads, nobody pushes)");
  cmd->add_flag("--allow-anonymous-push", a->anonymous_push,
                "without --auth, let anyone push (a hub on a trusted network)");
  cmd->add_option("--threads", a->threads, "connections served at once (default 16)");
  cmd->add_option("--max-uploads", a->max_uploads,
                  "uploads in flight at once; more wait for a slot, up to 2 minutes, "
                  "while threads allow (default 4)");
  cmd->add_option("--public-url", a->public_url,
                  "the hub's URL as clients reach it (behind a proxy); default from Host");
  cmd->add_option("--port-file", a->port_file, "write the port listened on to this file");
  return {[a] {
    Status s = run(*a);
    return s ? 0 : fail(s.error().context("serve"));
  }};
}

}  // namespace zipllm::cli
