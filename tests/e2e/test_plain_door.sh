#!/usr/bin/env bash
# compress / decompress / demo through the real binary.
. "$(dirname "$0")/lib.sh"
S=$DATA/stories260K
cd "$SCRATCH"

same() { cmp -s "$1" "$2"; }

t_roundtrip_solo() {
  run "$BIN" compress "$S/base.bf16.safetensors" -o base.zpk && run "$BIN" decompress base.zpk -o base.out &&
    same base.out "$S/base.bf16.safetensors"
}
t_roundtrip_delta() {
  run "$BIN" compress "$S/ftA_licenses.bf16.safetensors" --base "$S/base.bf16.safetensors" -o ftA.zpk &&
    run "$BIN" decompress ftA.zpk --base "$S/base.bf16.safetensors" -o ftA.out &&
    same ftA.out "$S/ftA_licenses.bf16.safetensors" &&
    [ "$(stat -c %s ftA.zpk)" -lt $(( $(stat -c %s "$S/ftA_licenses.bf16.safetensors") * 40 / 100 )) ]
}
t_vocab_grown() {
  run "$BIN" compress "$S/ftV_vocab576.bf16.safetensors" --base "$S/base.bf16.safetensors" -o ftV.zpk &&
    run "$BIN" decompress ftV.zpk --base "$S/base.bf16.safetensors" -o ftV.out &&
    same ftV.out "$S/ftV_vocab576.bf16.safetensors"
}
# compress --candidate: the base finder picks among candidate files, says
# which (decompress needs it), and an unrelated one is never used.
t_compress_candidates() {
  write_unrelated "$S/base.bf16.safetensors" retrained.safetensors &&
    run "$BIN" compress "$S/ftA_licenses.bf16.safetensors" -c retrained.safetensors \
      -c "$S/base.bf16.safetensors" -o cand.zpk &&
    grep -q "^base: $S/base.bf16.safetensors " "$LOG" && grep -q "retrained.safetensors (ruled out" "$LOG" &&
    run "$BIN" compress "$S/ftA_licenses.bf16.safetensors" --base "$S/base.bf16.safetensors" -o declared.zpk &&
    [ "$(stat -c %s cand.zpk)" -eq "$(stat -c %s declared.zpk)" ] &&
    run "$BIN" decompress cand.zpk --base "$S/base.bf16.safetensors" -o cand.out &&
    same cand.out "$S/ftA_licenses.bf16.safetensors" &&
    run "$BIN" compress "$S/ftA_licenses.bf16.safetensors" -c retrained.safetensors -o alone.zpk &&
    grep -q "^base: none" "$LOG" && run "$BIN" decompress alone.zpk -o alone.out &&
    same alone.out "$S/ftA_licenses.bf16.safetensors" &&
    ! run "$BIN" compress "$S/ftA_licenses.bf16.safetensors" -c retrained.safetensors \
      --base "$S/base.bf16.safetensors" -o both.zpk && [ ! -e both.zpk ]
}
t_missing_base() {
  ! run "$BIN" decompress ftA.zpk -o nobase.out && grep -q "pass the base model" "$LOG" &&
    [ ! -e nobase.out ] && [ -z "$(ls -A | grep '\.tmp-' || true)" ]
}
t_malformed_named() {
  head -c 1000 "$S/base.bf16.safetensors" > trunc.safetensors
  ! run "$BIN" compress trunc.safetensors -o trunc.zpk && grep -q "trunc.safetensors" "$LOG" &&
    [ ! -e trunc.zpk ]
}
t_exit_status() {
  printf 'hello' > tiny.safetensors
  run "$BIN" compress tiny.safetensors -o tiny.zpk; [ $? -eq 1 ] && grep -q "8-byte header length" "$LOG"
}
t_empty_file() {
  : > empty.safetensors
  run "$BIN" compress empty.safetensors -o empty.zpk; [ $? -eq 1 ] && grep -q "empty.safetensors" "$LOG" &&
    grep -q "0 bytes" "$LOG" && [ ! -e empty.zpk ]
}
t_family_roundtrip() {
  local ok=0
  for f in "$S"/*.bf16.safetensors; do
    run "$BIN" compress "$f" --base "$S/base.bf16.safetensors" -o one.zpk &&
      run "$BIN" decompress one.zpk --base "$S/base.bf16.safetensors" -o one.out && same one.out "$f" || ok=1
  done
  return $ok
}
t_missing_input() {
  ! run "$BIN" compress does-not-exist.safetensors -o x.zpk && grep -q "does-not-exist" "$LOG"
}
t_corrupt_pack() {
  cp ftA.zpk bad.zpk && printf '\x55' | dd of=bad.zpk bs=1 seek=200 conv=notrunc 2>/dev/null &&
    ! run "$BIN" decompress bad.zpk --base "$S/base.bf16.safetensors" -o bad.out &&
    grep -qi "corrupt\|checksum\|differ" "$LOG" && [ ! -e bad.out ]
}
t_deterministic() {
  run "$BIN" compress "$S/ftA_licenses.bf16.safetensors" --base "$S/base.bf16.safetensors" -o again.zpk &&
    cmp -s again.zpk ftA.zpk
}
t_demo() {
  run "$BIN" demo --data "$S" && grep -q "byte-identical" "$LOG"
}

# Issue 10, defect 3: `compress FT --base B -o B` destroyed both models.
t_output_is_an_input() {
  cp "$S/base.bf16.safetensors" b.safetensors
  cp "$S/ftA_licenses.bf16.safetensors" f.safetensors
  ln -s b.safetensors b-link.safetensors
  expect_fail "$BIN" compress f.safetensors --base b.safetensors -o b.safetensors
  expect_log 'is the base b.safetensors'
  expect_fail "$BIN" compress f.safetensors --base b.safetensors -o b-link.safetensors
  expect_fail "$BIN" compress f.safetensors -o f.safetensors
  expect_log 'is the input f.safetensors'
  expect_same b.safetensors "$S/base.bf16.safetensors"
  expect_same f.safetensors "$S/ftA_licenses.bf16.safetensors"
  expect_ok "$BIN" compress f.safetensors --base b.safetensors -o f.zpk
  cp f.zpk f2.zpk
  expect_fail "$BIN" decompress f.zpk --base b.safetensors -o f.zpk
  expect_fail "$BIN" decompress f.zpk --base b.safetensors -o b.safetensors
  expect_same f.zpk f2.zpk
  expect_same b.safetensors "$S/base.bf16.safetensors"
}

check "solo round-trip" t_roundtrip_solo
check "delta round-trip, < 40% of raw" t_roundtrip_delta
check "grown vocabulary round-trip" t_vocab_grown
check "missing base: clear error, no output" t_missing_base
check "malformed input named, no output" t_malformed_named
check "exit status 1 on bad input" t_exit_status
check "missing input named" t_missing_input
check "0-byte file rejected with its name" t_empty_file
check "every shipped model round-trips against the base" t_family_roundtrip
check "corrupt pack detected, no output" t_corrupt_pack
check "compress is deterministic" t_deterministic
check "demo" t_demo
test_case "an output that is an input is refused" t_output_is_an_input
test_case "compress --candidate: the finder picks the base, never an unrelated one" t_compress_candidates
finish
