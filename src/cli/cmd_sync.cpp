// git zipllm push [REMOTE] [--all] | fetch [REMOTE] [REF...] [--all] | pull [REMOTE] |
// pre-push REMOTE URL (the hook)
#include <unistd.h>

#include <cstdio>

#include "cli/commands.h"
#include "git/hooks.h"
#include "git/path_filter.h"
#include "git/settings.h"
#include "git/sync.h"

namespace zipllm::cli {

namespace {

struct Args {
  std::string remote;
  std::string url;  // pre-push: the URL git pushes to
  std::vector<std::string> refs;
  bool all = false;
  bool dry_run = false;
  std::vector<std::string> include, exclude;
};

struct Opened {
  git::Repo repo;
  std::unique_ptr<git::ModelStore> store;
  std::unique_ptr<remote::RemoteStore> remote;
  git::RemoteTarget target;
};

Result<Opened> open_all(const std::string& remote_name) {
  auto repo = TRY(git::Repo::open());
  auto store = TRY(git::ModelStore::open(repo));
  git::Settings settings = git::Settings::load(repo);
  git::RemoteTarget t;
  auto remote = TRY(git::open_remote_store(repo, settings, remote_name, &t));
  return Opened{std::move(repo), std::move(store), std::move(remote), std::move(t)};
}

void print_upload(const std::string& url, const remote::TransferStats& st) {
  if (Progress::quiet()) {
    return;  // -q, and `git push -q`
  }
  std::fprintf(stderr, "git-zipllm: uploaded %llu object(s) (%s) to %s, %llu already there\n",
               static_cast<unsigned long long>(st.objects), human_bytes(st.bytes).c_str(),
               url.c_str(), static_cast<unsigned long long>(st.present));
}

Status upload(Opened& o, const std::vector<format::Manifest>& manifests, bool dry_run) {
  if (manifests.empty()) {
    std::fprintf(stderr, "git-zipllm: no model files to upload\n");
    return {};
  }
  if (dry_run) {
    auto ids = TRY(git::needed_objects(*o.store, manifests));
    std::fprintf(stderr,
                 "git-zipllm: would upload up to %zu object(s) of %zu model file(s) to %s\n",
                 ids.size(), manifests.size(), o.remote->url().c_str());
    return {};
  }
  TRY_STATUS(remote::ping_remote(*o.remote));
  auto st = TRY(
      git::upload_manifests(*o.store, *o.remote, manifests,
                            remote::default_transfer_options("uploading to " + o.remote->url())));
  print_upload(o.remote->url(), st);
  return {};
}

Status push(const Args& a) {
  auto o = TRY(open_all(a.remote));
  std::vector<std::string> revs =
      a.all ? std::vector<std::string>{"--all"}
            : (a.refs.empty() ? std::vector<std::string>{"HEAD"} : a.refs);
  auto manifests = TRY(git::manifests_in_history(o.repo, revs));
  return upload(o, manifests, a.dry_run);
}

Status pre_push(const Args& a) {
  std::string input;
  std::vector<uint8_t> buf(1 << 16);
  while (true) {
    size_t n = TRY(read_some(STDIN_FILENO, buf, "stdin"));
    if (n == 0) {
      break;
    }
    input.append(reinterpret_cast<const char*>(buf.data()), n);
  }
  // `git push -q` stays quiet (git does not tell its hooks; we look).
  if (git::push_is_quiet()) {
    Progress::set_quiet(true);
  }
  auto repo = TRY(git::Repo::open());
  auto revs = git::pre_push_rev_args(input, a.remote);
  if (revs.empty()) {
    return {};
  }
  auto manifests = TRY(git::manifests_in_history(repo, revs));
  if (manifests.empty()) {
    return {};  // nothing of ours in this push: do not even look for a store
  }
  // The remote as git names it: a remote name, or the URL when pushing to one.
  auto o = TRY(open_all(a.remote));
  return upload(o, manifests, false);
}

Status fetch(const Args& a, bool quiet_if_nothing = false) {
  auto o = TRY(open_all(a.remote));
  std::vector<format::Manifest> manifests;
  const git::PathFilter filter = git::PathFilter::from(o.repo, a.include, a.exclude);
  if (a.all) {
    if (!a.include.empty() || !a.exclude.empty()) {
      return make_error(Errc::InvalidArgument,
                        "--include/--exclude choose files of REFs; --all fetches every "
                        "version of every file");
    }
    manifests = TRY(git::manifests_in_history(o.repo, {"--all"}));
  } else {
    for (auto& tm : TRY(git::manifests_in_trees(
             o.repo, a.refs.empty() ? std::vector<std::string>{"HEAD"} : a.refs))) {
      if (filter.allows(tm.path)) {
        manifests.push_back(std::move(tm.manifest));
      }
    }
  }
  if (manifests.empty()) {
    if (!quiet_if_nothing) {
      std::fprintf(stderr, "git-zipllm: no model files to fetch\n");
    }
    return {};
  }
  TRY_STATUS(remote::ping_remote(*o.remote));
  // Only the named remote: `fetch` means "from there". Local copies are
  // checked, so a damaged one is replaced rather than trusted.
  auto opts = remote::default_transfer_options("downloading from " + o.remote->url());
  opts.verify_local = true;
  auto st = TRY(remote::download_closure(*o.remote, *o.store->local,
                                         git::distinct_object_ids(manifests), opts,
                                         /*skip_missing=*/true));
  std::fprintf(stderr, "git-zipllm: downloaded %llu object(s) (%s) from %s\n",
               static_cast<unsigned long long>(st.objects), human_bytes(st.bytes).c_str(),
               o.remote->url().c_str());
  if (!st.missing.empty()) {
    return make_error(Errc::NotFound, std::to_string(st.missing.size()) + " object(s) are not in " +
                                          o.remote->url() + " (first: " + st.missing[0].hex() +
                                          "): the push that added them was interrupted, or they "
                                          "went to another store; " +
                                          git::missing_objects_hint(o.target));
  }
  return {};
}

void add_common(CLI::App* cmd, Args& a) {
  cmd->add_option("remote", a.remote,
                  "git remote name or URL (default: the branch's remote, origin)");
}

}  // namespace

std::vector<Runner> add_sync(CLI::App& app) {
  auto pa = std::make_shared<Args>();
  auto* p = app.add_subcommand(
      "push", "Upload the model objects of HEAD (or --all refs) to the remote's store");
  add_common(p, *pa);
  p->add_option("--ref", pa->refs, "revisions to upload (default HEAD)");
  p->add_flag("--all", pa->all, "every ref, all history");
  p->add_flag("--dry-run", pa->dry_run, "only count what would be uploaded");

  auto fa = std::make_shared<Args>();
  auto* f = app.add_subcommand(
      "fetch", "Download the model objects of HEAD (or REFs) from the remote's store");
  add_common(f, *fa);
  f->add_option("refs", fa->refs, "revisions whose files to fetch (default HEAD)");
  f->add_flag("--all", fa->all, "every ref, all history");
  add_path_filter(f, fa->include, fa->exclude);

  auto la = std::make_shared<Args>();
  auto* l = app.add_subcommand("pull", "fetch, then checkout (write model files to the work tree)");
  add_common(l, *la);
  add_path_filter(l, la->include, la->exclude);

  auto ha = std::make_shared<Args>();
  auto* h = app.add_subcommand("pre-push", "The pre-push hook: upload what a push needs");
  h->add_option("remote", ha->remote)->required();
  h->add_option("url", ha->url);
  h->group("");  // hidden: git runs it

  return {[pa] {
            Status s = push(*pa);
            return s ? 0 : fail(s.error().context("push"));
          },
          [fa] {
            Status s = fetch(*fa);
            return s ? 0 : fail(s.error().context("fetch"));
          },
          [la] {
            Status s = fetch(*la, true);
            if (!s) {
              return fail(s.error().context("pull"));
            }
            return run_checkout({}, false, la->include, la->exclude);
          },
          [ha] {
            Status s = pre_push(*ha);
            return s ? 0
                     : fail(s.error().context(
                           "pre-push (uploading model objects; `git push --no-verify` skips it)"));
          }};
}

}  // namespace zipllm::cli
