# Writes git-zipllm.1 from the binary's own help, so `git zipllm --help`
# (which git turns into `man git-zipllm`) shows the commands it really has.
# Run as: cmake -DBIN=... -DOUT=... -DREADME=... -P ManPage.cmake
execute_process(COMMAND ${BIN} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${BIN} --help failed")
endif()
execute_process(COMMAND ${BIN} --version OUTPUT_VARIABLE version OUTPUT_STRIP_TRAILING_WHITESPACE)
string(REPLACE "${BIN}" "git-zipllm" help "${help}")
# roff: a leading dot or quote starts a request, a backslash an escape.
string(REPLACE "\\" "\\e" help "${help}")
string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
file(WRITE ${OUT} ".TH GIT-ZIPLLM 1 \"\" \"${version}\" \"Git Manual\"
.SH NAME
git-zipllm \\- deduplicated, delta-compressed storage of safetensors models in git
.SH SYNOPSIS
.B git zipllm
.I command
[options]
.br
.B git zipllm help
.I command
.SH COMMANDS
.nf
${help}.fi
.SH SEE ALSO
README.md and HACKING.md in the source tree; \\fBgit zipllm help\\fR \\fIcommand\\fR for one command's options.
")
