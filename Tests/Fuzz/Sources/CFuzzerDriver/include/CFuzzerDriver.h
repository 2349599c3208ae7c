// libFuzzer's documented entry point for programs that have their own main():
// https://llvm.org/docs/LibFuzzer.html#using-libfuzzer-as-a-library
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef int (*cordon_fuzz_callback)(const uint8_t *data, size_t size);
int LLVMFuzzerRunDriver(int *argc, char ***argv, cordon_fuzz_callback callback);
