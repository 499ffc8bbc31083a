// git zipllm compress IN [--base B]... -o OUT
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "ops/ingest.h"
#include "store/pack.h"
#include "util/progress.h"

namespace zipllm::cli {

namespace {

struct Args {
  std::string input;
  std::vector<std::string> bases;
  std::string output;
  bool verbose = false;
};

Status run(const Args& a) {
  TRY_STATUS(check_output_is_new(a.output, a.input, a.bases));
  ThreadPool pool(ThreadPool::default_threads());
  store::Resolver resolver;
  ops::BaseModel base;
  for (const auto& b : a.bases) {
    TRY_STATUS_CTX(base.add_file(b, resolver, &pool), "base");
  }
  auto pack = TRY(store::PackWriter::open_new(a.output));
  ops::IngestOptions opts;
  std::error_code ec;
  Progress progress("compress " + a.input, std::filesystem::file_size(a.input, ec));
  opts.on_progress = [&](uint64_t done) { progress.update(done); };
  ops::IngestReport report;
  format::Manifest m = TRY(ops::ingest_file(a.input, base.empty() ? nullptr : &base, resolver,
                                            *pack, pool, opts, &report));
  TRY_STATUS_CTX(pack->publish(format::serialize_manifest(m)), a.output);
  size_t deltas = 0, reused = 0;
  for (const auto& t : report.tensors) {
    deltas += t.delta;
    reused += t.reused;
    if (a.verbose) {
      std::fprintf(stderr, "  %-60s %10llu -> %10llu %s\n", t.name.c_str(),
                   static_cast<unsigned long long>(t.raw_size),
                   static_cast<unsigned long long>(t.stored_size),
                   t.reused ? "(dedup)" : (t.delta ? "(delta)" : ""));
    }
  }
  uint64_t out_size = pack->objects_bytes();
  std::fprintf(
      stderr, "%s: %s -> %s (ratio %.2f), %zu tensors, %zu deduplicated, %zu with a base\n",
      a.input.c_str(), human_bytes(m.size).c_str(), human_bytes(out_size).c_str(),
      out_size ? double(m.size) / double(out_size) : 0.0, m.tensors.size(), reused, deltas);
  return {};
}

}  // namespace

Runner add_compress(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("compress", "Store a safetensors file as one self-contained pack");
  cmd->add_option("input", args->input, "safetensors file")->required();
  cmd->add_option("--base,-b", args->bases, "base model file (repeat for shards)");
  cmd->add_option("-o,--output", args->output, "pack file to write")->required();
  cmd->add_flag("-v,--verbose", args->verbose, "per-tensor sizes");
  return [args] {
    Status s = run(*args);
    return s ? 0 : fail(s.error().context("compress"));
  };
}

}  // namespace zipllm::cli
