/* cordon.h: the Cordon guest ABI for C plugins (docs/abi.md).
 *
 * Build: cordon build plugin.c -o plugin.wasm
 *   (= clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -Wl,--export-dynamic)
 *
 * Every host function lives in import module "env". Strings are UTF-8 (ptr, len) in the exported
 * linear memory. Functions that return data write it to (out_ptr, out_cap) and return its full
 * length, or a negative CORDON_E_* code; the bytes are written only when they fit, so a return
 * value > out_cap means "retry with a bigger buffer".
 * No libc: this header uses only compiler builtins.
 */
#ifndef CORDON_H
#define CORDON_H

#include <stddef.h>
#include <stdint.h>

#define CORDON_IMPORT(name) __attribute__((import_module("env"), import_name(name)))
#define CORDON_EXPORT(name) __attribute__((export_name(name), visibility("default")))

/* ---- Error codes: one table for every host function. ---- */
#define CORDON_OK                  0
#define CORDON_E_NOT_FOUND        (-1)
#define CORDON_E_PERMISSION       (-2) /* capability not granted */
#define CORDON_E_INVALID_ARGUMENT (-3) /* (ptr, len) outside memory, bad UTF-8, bad level */
#define CORDON_E_RATE_LIMITED     (-4)
#define CORDON_E_TOO_LARGE        (-5)
#define CORDON_E_HOST             (-6)

/* ---- Log levels for host_log. ---- */
#define CORDON_TRACE 0
#define CORDON_DEBUG 1
#define CORDON_INFO  2
#define CORDON_WARN  3
#define CORDON_ERROR 4

/* ---- Host functions (capability in brackets). ---- */
CORDON_IMPORT("host_log")             int32_t host_log(int32_t level, const char *msg, int32_t len);                 /* [none] */
CORDON_IMPORT("host_get_config")      int32_t host_get_config(const char *key, int32_t key_len, char *out, int32_t out_cap);      /* [read_config] */
CORDON_IMPORT("host_set_config")      int32_t host_set_config(const char *key, int32_t key_len, const char *value, int32_t value_len); /* [write_config] */
CORDON_IMPORT("host_send_message")    int32_t host_send_message(const char *target, int32_t target_len, const void *payload, int32_t payload_len); /* [send_message] */
CORDON_IMPORT("host_receive_message") int32_t host_receive_message(void *out, int32_t out_cap);                      /* [receive_message] */
CORDON_IMPORT("host_call_tool")       int32_t host_call_tool(const char *name, int32_t name_len, const void *args, int32_t args_len, void *out, int32_t out_cap); /* [call_tool] */
CORDON_IMPORT("host_storage_get")     int32_t host_storage_get(const char *key, int32_t key_len, void *out, int32_t out_cap);     /* [storage] */
CORDON_IMPORT("host_storage_set")     int32_t host_storage_set(const char *key, int32_t key_len, const void *value, int32_t value_len); /* [storage] */
CORDON_IMPORT("host_storage_delete")  int32_t host_storage_delete(const char *key, int32_t key_len);                  /* [storage] */
CORDON_IMPORT("host_random_bytes")    int32_t host_random_bytes(void *out, int32_t count);                           /* [random] */
CORDON_IMPORT("host_now_ms")          int64_t host_now_ms(void);                                                     /* [timer] */
CORDON_IMPORT("host_sleep_ms")        int32_t host_sleep_ms(int64_t ms);                                             /* [timer] */

/* ---- Helpers. ---- */
static inline int32_t cordon_strlen(const char *s) { int32_t n = 0; while (s[n]) n++; return n; }
static inline int32_t cordon_log(int32_t level, const char *s) { return host_log(level, s, cordon_strlen(s)); }
static inline int32_t cordon_config(const char *key, char *out, int32_t cap) { return host_get_config(key, cordon_strlen(key), out, cap); }
static inline int32_t cordon_send(const char *target, const void *payload, int32_t len) { return host_send_message(target, cordon_strlen(target), payload, len); }
static inline int32_t cordon_tool(const char *name, const void *args, int32_t len, void *out, int32_t cap) { return host_call_tool(name, cordon_strlen(name), args, len, out, cap); }
static inline int32_t cordon_storage_get(const char *key, void *out, int32_t cap) { return host_storage_get(key, cordon_strlen(key), out, cap); }
static inline int32_t cordon_storage_set(const char *key, const void *value, int32_t len) { return host_storage_set(key, cordon_strlen(key), value, len); }

/* Decimal formatting without libc; returns the length written (buffer must hold 12 bytes). */
static inline int32_t cordon_itoa(int32_t value, char *out) {
    char tmp[12]; int32_t n = 0, len = 0; uint32_t v = value < 0 ? 0u - (uint32_t)value : (uint32_t)value;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    if (value < 0) out[len++] = '-';
    while (n) out[len++] = tmp[--n];
    return len;
}

/* ---- Bytes convention: the host calls cordon_alloc(len) for the input, then f(ptr, len) -> i64
 * packing (out_ptr << 32 | out_len). Define CORDON_BUMP_ALLOCATOR in exactly one file to get a
 * bump allocator (memory is reset per call with cordon_reset, never freed individually). ---- */
static inline int64_t cordon_pack(const void *ptr, int32_t len) {
    return (int64_t)(((uint64_t)(uintptr_t)ptr << 32) | (uint32_t)len);
}

#ifdef CORDON_BUMP_ALLOCATOR
extern unsigned char __heap_base;
static uintptr_t cordon_heap_top;
CORDON_EXPORT("cordon_alloc") void *cordon_alloc(int32_t len) {
    if (!cordon_heap_top) cordon_heap_top = (uintptr_t)&__heap_base;
    uintptr_t start = (cordon_heap_top + 15) & ~(uintptr_t)15;
    uintptr_t end = start + (uint32_t)len;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) < 0) return 0;
    cordon_heap_top = end;
    return (void *)start;
}
CORDON_EXPORT("cordon_free") void cordon_free(void *ptr) { (void)ptr; }
/* Forget every allocation (call at the start of an export that owns the whole heap). */
static inline void cordon_reset(void) { cordon_heap_top = (uintptr_t)&__heap_base; }
#endif

#endif /* CORDON_H */
