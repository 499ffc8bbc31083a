// git zipllm demo: stores a small shipped model family (stories260K, BF16:
// a base, fine-tunes of it, a fine-tune of a fine-tune, one with a grown
// vocabulary) in a temporary store, restores every file from the store
// alone, checks it byte for byte, and prints stored against raw size.
#include "cli/commands.h"
#include "ops/ingest.h"
#include "ops/restore.h"
#include "store/local_store.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

namespace zipllm::cli {

namespace {

namespace fs = std::filesystem;

struct Member {
  const char* file;
  const char* base;  // file of its base model, or nullptr
};

constexpr Member k_family[] = {
    {"base.bf16.safetensors", nullptr},
    {"ftA_licenses.bf16.safetensors", "base.bf16.safetensors"},
    {"ftB_changelogs.bf16.safetensors", "base.bf16.safetensors"},
    {"ftC_copyright_lr1e-5.bf16.safetensors", "base.bf16.safetensors"},
    {"ftA2_chain_manpages.bf16.safetensors", "ftA_licenses.bf16.safetensors"},
    {"ftV_vocab576.bf16.safetensors", "base.bf16.safetensors"},
};

std::string find_data_dir(const std::string& given) {
  std::vector<std::string> candidates;
  if (!given.empty()) {
    candidates.push_back(given);
  }
  if (const char* env = std::getenv("GIT_ZIPLLM_DEMO_DATA")) {
    candidates.push_back(env);
  }
  candidates.push_back(std::string(ZIPLLM_DATA_DIR) + "/demo");
  candidates.push_back(std::string(ZIPLLM_SOURCE_DIR) + "/tests/data/stories260K");
  for (const auto& c : candidates) {
    if (path_exists(c + "/" + k_family[0].file)) {
      return c;
    }
  }
  return "";
}

Result<std::string> sha256_of_file(const std::string& path) {
  Fd fd = TRY(open_read(path));
  Sha256 sha;
  std::vector<uint8_t> buf(1 << 20);
  while (true) {
    size_t n = TRY(read_some(fd.get(), buf, path));
    if (n == 0) {
      break;
    }
    sha.update(Bytes(buf.data(), n));
  }
  return Sha256::hex(sha.finish());
}

struct Args {
  std::string data;
  bool keep = false;
};

Status run(const Args& a) {
  std::string data = find_data_dir(a.data);
  if (data.empty()) {
    return make_error(Errc::NotFound,
                      "demo models not found (looked in " + std::string(ZIPLLM_DATA_DIR) +
                          "/demo); run ./install.sh or pass --data DIR");
  }
  std::error_code ec;
  fs::path tmp = fs::temp_directory_path(ec) / ("git-zipllm-demo-" + std::to_string(::getpid()));
  fs::create_directories(tmp, ec);
  struct Cleanup {
    fs::path p;
    bool keep;
    ~Cleanup() {
      if (!keep) {
        std::error_code e;
        fs::remove_all(p, e);
      }
    }
  } cleanup{tmp, a.keep};
  auto store = TRY(store::LocalStore::open((tmp / "store").string()));
  store::Resolver resolver;
  resolver.add_source(store.get());
  ThreadPool pool(ThreadPool::default_threads());
  std::map<std::string, format::Manifest> manifests;
  std::printf("git-zipllm demo: %s\n\n", data.c_str());
  std::printf("%-40s %12s %12s %8s  %s\n", "file", "raw", "stored", "ratio", "base");
  uint64_t total_raw = 0, total_stored = 0;
  for (const Member& mem : k_family) {
    std::string path = data + "/" + mem.file;
    ops::BaseModel base;
    if (mem.base) {
      TRY_STATUS(base.add_manifest(manifests.at(mem.base), mem.base));
    }
    ops::IngestReport report;
    format::Manifest m = TRY(ops::ingest_file(path, mem.base ? &base : nullptr, resolver, *store,
                                              pool, ops::IngestOptions{}, &report));
    uint64_t stored = report.stored_size + format::serialize_manifest(m).size();
    total_raw += m.size;
    total_stored += stored;
    std::printf("%-40s %12llu %12llu %8.2f  %s\n", mem.file, static_cast<unsigned long long>(m.size),
                static_cast<unsigned long long>(stored), double(m.size) / double(stored),
                mem.base ? mem.base : "-");
    manifests[mem.file] = std::move(m);
  }
  std::printf("%-40s %12llu %12llu %8.2f\n\n", "total", static_cast<unsigned long long>(total_raw),
              static_cast<unsigned long long>(total_stored), double(total_raw) / double(total_stored));
  // Restore from the store alone and compare with the originals.
  for (const Member& mem : k_family) {
    std::string out = (tmp / (std::string("restored-") + mem.file)).string();
    TRY_STATUS(ops::restore_file(manifests.at(mem.file), resolver, out, pool, ops::RestoreOptions{}));
    std::string want = TRY(sha256_of_file(data + "/" + mem.file));
    std::string got = TRY(sha256_of_file(out));
    if (want != got) {
      return make_error(Errc::Internal, std::string(mem.file) + ": restored bytes differ");
    }
  }
  std::printf("restored all %zu files from the store: byte-identical (SHA-256 checked)\n",
              std::size(k_family));
  if (a.keep) {
    std::printf("kept %s\n", tmp.c_str());
  }
  return {};
}

}  // namespace

Runner add_demo(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("demo", "Store and restore a small shipped model family");
  cmd->add_option("--data", args->data, "folder with the demo models");
  cmd->add_flag("--keep", args->keep, "keep the temporary store");
  return [args] {
    Status s = run(*args);
    return s ? 0 : fail(s.error().context("demo"));
  };
}

}  // namespace zipllm::cli
