/* bytes convention: upper-cases its input. The host allocates the input with cordon_alloc and the
 * export returns (out_ptr << 32 | out_len). Called through the library:
 *   try await handle.call("upper", bytes: Array("hello".utf8))   // → "HELLO"
 * (`cordon run` calls value exports; see Tests/CordonTests/ExamplesTests.swift for this one.)
 *   cordon build Examples/c/upper.c -o /tmp/upper.wasm
 */
#define CORDON_BUMP_ALLOCATOR
#include "cordon.h"

CORDON_EXPORT("upper") int64_t upper(unsigned char *input, int32_t len) {
    unsigned char *out = cordon_alloc(len);
    if (!out) return 0;
    for (int32_t i = 0; i < len; i++) {
        unsigned char c = input[i];
        out[i] = (c >= 'a' && c <= 'z') ? (unsigned char)(c - 32) : c;
    }
    return cordon_pack(out, len);
}
