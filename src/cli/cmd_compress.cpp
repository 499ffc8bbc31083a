// git zipllm compress IN [--base B... | --candidate C...] -o OUT
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "ops/base_finder.h"
#include "ops/ingest.h"
#include "store/pack.h"
#include "util/progress.h"

namespace zipllm::cli {

namespace {

struct Args {
  std::string input;
  std::vector<std::string> bases;
  std::vector<std::string> candidates;
  std::string output;
  bool verbose = false;
};

// The base the finder picks among `files` (each one model) for `input`:
// prints its ranking; an empty model when none is related.
Result<ops::BaseModel> find_base(const std::string& input, const std::vector<std::string>& files,
                                 store::Resolver& resolver, ThreadPool& pool) {
  auto f = TRY_CTX(ops::open_safetensors(input), input);
  std::vector<ops::BaseModel> models(files.size());
  std::vector<ops::CandidateModel> candidates;
  for (size_t i = 0; i < files.size(); ++i) {
    TRY_STATUS_CTX(models[i].add_file(files[i], resolver, &pool), "candidate");
    auto c = TRY_CTX(ops::open_safetensors(files[i]), files[i]);
    format::Manifest m;
    m.size = c.size;
    for (const auto& t : c.header.tensors) {
      m.tensors.push_back(format::ManifestTensor{models[i].find(t.name)->id, t});
    }
    candidates.push_back({files[i], {std::move(m)}, {files[i]}, static_cast<int>(i)});
  }
  auto ranking = TRY(ops::rank_bases(f, candidates, resolver));
  for (const auto& s : ranking) {
    std::fprintf(stderr, "  %5.0f%% of solo, %3.0f%% common, %3.0f%% same exponent  %s%s\n",
                 s.ratio * 100, s.coverage * 100, s.exponent_match * 100,
                 candidates[s.index].name.c_str(),
                 s.related ? "" : (" (ruled out: " + s.why_not + ")").c_str());
  }
  if (ranking.empty() || !ranking[0].related) {
    std::fprintf(stderr, "base: none (no candidate is related; coded alone)\n");
    return ops::BaseModel{};
  }
  std::fprintf(stderr, "base: %s (decompress needs it: --base %s)\n",
               files[ranking[0].index].c_str(), files[ranking[0].index].c_str());
  return std::move(models[ranking[0].index]);
}

Status run(const Args& a) {
  std::vector<std::string> inputs = a.bases;
  inputs.insert(inputs.end(), a.candidates.begin(), a.candidates.end());
  TRY_STATUS(check_output_is_new(a.output, a.input, inputs));
  ThreadPool pool(ThreadPool::default_threads());
  store::Resolver resolver;
  ops::BaseModel base;
  for (const auto& b : a.bases) {
    TRY_STATUS_CTX(base.add_file(b, resolver, &pool), "base");
  }
  if (!a.candidates.empty()) {
    base = TRY(find_base(a.input, a.candidates, resolver, pool));
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
  auto* base = cmd->add_option("--base,-b", args->bases, "base model file (repeat for shards)");
  cmd->add_option("--candidate,-c", args->candidates,
                  "a model that may serve as base (repeat: the base finder picks the best "
                  "one, or none)")
      ->excludes(base);
  cmd->add_option("-o,--output", args->output, "pack file to write")->required();
  cmd->add_flag("-v,--verbose", args->verbose, "per-tensor sizes");
  return [args] {
    Status s = run(*args);
    return s ? 0 : fail(s.error().context("compress"));
  };
}

}  // namespace zipllm::cli
