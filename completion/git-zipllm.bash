# bash completion for `git zipllm ...` and `git-zipllm ...`: subcommands,
# their flags (read from the installed binary's --help, so they never
# drift), remotes, and tracked model files.
#
# Installed as .../bash-completion/completions/git-zipllm: git's own
# completion looks for _git_zipllm and asks bash-completion to load this
# file by that name the first time `git zipllm <TAB>` is pressed.

__git_zipllm_subcommands() {
  git-zipllm --help 2>/dev/null |
    awk '/^Subcommands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'
}

# Flags of a subcommand ("base add" for a nested one).
__git_zipllm_flags() {
  # shellcheck disable=SC2086
  git-zipllm $1 --help 2>/dev/null | grep -o -- '--[a-z][a-z0-9-]*' | sort -u
}

# Paths whose `filter` attribute is zipllm, in the index.
__git_zipllm_tracked() {
  git ls-files -z 2>/dev/null | git check-attr -z --stdin filter 2>/dev/null |
    tr '\0' '\n' | paste - - - | awk -F'\t' '$3 == "zipllm" { print $1 }'
}

_git_zipllm() {
  # `git zipllm SUB ...` or `git-zipllm SUB ...`
  local start=2 sub="" at i
  case "${words[0]}" in *git-zipllm) start=1 ;; esac
  for ((i = start; i < cword; i++)); do
    case "${words[i]}" in
      -*) ;;
      *) sub="${words[i]}" && at=$i && break ;;
    esac
  done
  if [ -z "$sub" ]; then
    __gitcomp "$(__git_zipllm_subcommands) help version"
    return
  fi
  local nested=""
  if { [ "$sub" = base ] || [ "$sub" = migrate ]; } && [ $((at + 1)) -lt "$cword" ]; then
    nested=" ${words[at + 1]}"
  fi
  case "$cur" in
    --*)
      __gitcomp "$(__git_zipllm_flags "$sub$nested")"
      return
      ;;
  esac
  case "$sub" in
    push | fetch | pull | lfs-enable) __gitcomp "$(__git_remotes)" ;;
    checkout | repack | show | untrack | verify) __gitcomp_nl "$(__git_zipllm_tracked)" ;;
    base)
      if [ $((at + 1)) -eq "$cword" ]; then
        __gitcomp "add list remove suggest"
      elif [ "$nested" = " suggest" ]; then
        __gitcomp_nl "$(__git_zipllm_tracked)"
      fi
      ;;
    migrate)
      if [ $((at + 1)) -eq "$cword" ]; then
        __gitcomp "import info"
      else
        __gitcomp_nl "$(git for-each-ref --format='%(refname:short)' refs/heads refs/tags 2>/dev/null)"
      fi
      ;;
    help) __gitcomp "$(__git_zipllm_subcommands)" ;;
  esac
}

# The command on its own, through git's wrapper (which sets cur, words and
# cword) when git's completion is loaded.
if declare -F __git_complete >/dev/null 2>&1; then
  __git_complete git-zipllm _git_zipllm
elif [ -f /usr/share/bash-completion/completions/git ]; then
  # shellcheck disable=SC1091
  . /usr/share/bash-completion/completions/git && __git_complete git-zipllm _git_zipllm
fi
