// git zipllm track [PATTERN...] / untrack PATTERN...
// Edits the work tree's .gitattributes: `PATTERN filter=zipllm diff=zipllm merge=zipllm -text`
// placed after any other line for the same pattern (the last match wins, so
// it overrides Hugging Face's default `filter=lfs` line).
#include <cstdio>
#include <fstream>
#include <sstream>

#include "cli/commands.h"
#include "git/hooks.h"
#include "git/install.h"
#include "git/repo.h"
#include "util/file.h"

namespace zipllm::cli {

namespace {

using git::attribute_line;
using git::is_zipllm_line;

Result<std::string> attributes_path() {
  auto repo = TRY(git::Repo::open());
  auto wd = repo.workdir();
  if (!wd) {
    return make_error(Errc::InvalidArgument,
                      "a bare repository has no work tree to track files in");
  }
  return *wd + "/.gitattributes";
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  std::string l;
  while (std::getline(in, l)) {
    lines.push_back(l);
  }
  return lines;
}

Status write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) {
    text += l + "\n";
  }
  AtomicFile f = TRY(AtomicFile::create(path, 0644));
  TRY_STATUS(f.write(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size())));
  return f.commit();
}

Status track(const std::vector<std::string>& patterns) {
  std::string path = TRY(attributes_path());
  auto lines = read_lines(path);
  if (patterns.empty()) {
    for (const auto& l : lines) {
      if (is_zipllm_line(l, "")) {
        std::printf("%s\n", l.c_str());
      }
    }
    return {};
  }
  for (const auto& p : patterns) {
    std::string want = attribute_line(p);
    // Already the last line for this pattern? Then nothing to do.
    int last = -1;
    for (size_t i = 0; i < lines.size(); ++i) {
      std::istringstream in(lines[i]);
      std::string first;
      in >> first;
      if (first == p) {
        last = static_cast<int>(i);
      }
    }
    if (last >= 0 && lines[static_cast<size_t>(last)] == want) {
      std::printf("%s already tracked\n", p.c_str());
      continue;
    }
    std::vector<std::string> kept;
    for (const auto& l : lines) {
      if (!is_zipllm_line(l, p)) {
        kept.push_back(l);
      }
    }
    kept.push_back(want);
    lines.swap(kept);
    std::printf("Tracking \"%s\"\n", p.c_str());
  }
  TRY_STATUS(write_lines(path, lines));
  // Without the filter, git would commit the raw files the patterns name.
  auto repo = TRY(git::Repo::open());
  if (std::string said = TRY(git::ensure_filter(repo)); !said.empty()) {
    std::printf("%s\n", said.c_str());
  }
  // A repository that tracks models needs the pre-push hook (chaining to
  // git-lfs's, which Hugging Face style repositories have).
  for (const auto& line : TRY(git::install_hooks(repo))) {
    std::printf("hook %s\n", line.c_str());
  }
  // Clones see the patterns only once .gitattributes is committed.
  std::printf(
      "Next: git add .gitattributes (commit it with the models, so clones restore them too)\n");
  return {};
}

Status untrack(const std::vector<std::string>& patterns) {
  std::string path = TRY(attributes_path());
  auto lines = read_lines(path);
  std::vector<std::string> unknown;
  for (const auto& p : patterns) {
    std::vector<std::string> kept;
    for (const auto& l : lines) {
      if (!is_zipllm_line(l, p)) {
        kept.push_back(l);
      }
    }
    if (kept.size() != lines.size()) {
      std::printf("Untracking \"%s\"\n", p.c_str());
    } else {
      unknown.push_back(p);
    }
    lines.swap(kept);
  }
  TRY_STATUS(write_lines(path, lines));
  if (!unknown.empty()) {
    std::string list;
    for (const auto& p : unknown) {
      list += (list.empty() ? "\"" : ", \"") + p + "\"";
    }
    return make_error(Errc::NotFound, list + " not tracked by git-zipllm in " + path +
                                          " (`git zipllm track` lists the patterns)");
  }
  return {};
}

}  // namespace

std::vector<Runner> add_track(CLI::App& app) {
  auto pats = std::make_shared<std::vector<std::string>>();
  auto* t = app.add_subcommand("track", "Store files matching PATTERN with git-zipllm");
  t->add_option("pattern", *pats, "gitattributes pattern, e.g. \"*.safetensors\"");
  auto upats = std::make_shared<std::vector<std::string>>();
  auto* u = app.add_subcommand("untrack", "Stop storing files matching PATTERN with git-zipllm");
  u->add_option("pattern", *upats)->required();
  return {[pats] {
            Status s = track(*pats);
            return s ? 0 : fail(s.error().context("track"));
          },
          [upats] {
            Status s = untrack(*upats);
            return s ? 0 : fail(s.error().context("untrack"));
          }};
}

}  // namespace zipllm::cli
