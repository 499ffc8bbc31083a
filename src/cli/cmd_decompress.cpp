// git zipllm decompress IN [--base B]... -o OUT
#include "cli/commands.h"
#include "ops/base_model.h"
#include "ops/restore.h"
#include "store/pack.h"
#include "util/progress.h"

namespace zipllm::cli {

namespace {

struct Args {
  std::string input;
  std::vector<std::string> bases;
  std::string output;
};

Status run(const Args& a) {
  TRY_STATUS(check_output_is_new(a.output, a.input, a.bases));
  auto pack = TRY(store::PackReader::open(a.input));
  format::Manifest m = TRY_CTX(format::parse_manifest(pack->manifest()), a.input);
  ThreadPool pool(ThreadPool::default_threads());
  store::Resolver resolver;
  resolver.add_source(pack.get());
  ops::BaseModel base;
  for (const auto& b : a.bases) {
    TRY_STATUS_CTX(base.add_file(b, resolver, &pool), "base");
  }
  Progress progress("decompress " + a.output, m.size);
  ops::RestoreOptions opts;
  opts.mode = 0666 & ~process_umask();
  opts.on_progress = [&](uint64_t done) { progress.update(done); };
  Status s = ops::restore_file(m, resolver, a.output, pool, opts);
  if (!s && s.error().code == Errc::NotFound) {
    return std::move(s).error().context(
        a.input +
        " needs base tensors that are not in the pack; pass the base model it was "
        "compressed against with --base (every shard)");
  }
  if (!s) {
    return std::move(s).error().context(a.input);
  }
  return s;
}

}  // namespace

Runner add_decompress(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("decompress", "Restore a safetensors file from a pack");
  cmd->add_option("input", args->input, "pack file")->required();
  cmd->add_option("--base,-b", args->bases, "base model file (repeat for shards)");
  cmd->add_option("-o,--output", args->output, "safetensors file to write")->required();
  return [args] {
    Status s = run(*args);
    return s ? 0 : fail(s.error().context("decompress"));
  };
}

}  // namespace zipllm::cli
