// The entry point libFuzzer calls (and replay_main.cpp replays corpora
// through): one per fuzz target.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
