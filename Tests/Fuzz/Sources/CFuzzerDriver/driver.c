// Empty: the header declares a symbol libFuzzer (linked by -sanitize=fuzzer) defines.
