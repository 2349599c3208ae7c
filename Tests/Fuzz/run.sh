#!/usr/bin/env bash
# Builds and runs one libFuzzer target of Cordon.
#
#   Tests/Fuzz/run.sh TARGET SECONDS [libFuzzer flags…]   fuzz TARGET for SECONDS on a scratch copy of its corpus
#   Tests/Fuzz/run.sh seed-audit                           regenerate the audit-log seeds with the real AuditLog
#
# TARGET: FuzzFrameDecoder | FuzzHostCallDecoding | FuzzPolicyParser | FuzzAuditVerifier | FuzzModuleLoading
# Environment:
#   CORDON_FUZZ_SCRATCH    build dir of the instrumented harnesses (default: <repo>/.build-fuzz)
#   CORDON_WORKER_SCRATCH  build dir of the UNinstrumented cordon-worker for FuzzModuleLoading (<repo>/.build-soak)
#   CORDON_FUZZ_NO_BUILD=1 skip the build (ci.sh builds once)
#   CORDON_FUZZ_WORK       where run corpora and logs go (default: <scratch>/runs; ci.sh uses a fresh temp dir)
#   CORDON_FUZZ_MERGE=1    afterwards, merge new coverage-increasing inputs into the committed corpus (-merge=1)
# The committed corpus (corpus/TARGET) is only read; the run works on <scratch>/runs/TARGET/corpus. Crashes,
# leaks, timeouts go to Tests/Fuzz/artifacts/TARGET/ (git-ignored) and make the script exit non-zero.
# Last line printed: "RESULT TARGET execs=… exec/s=… cov=… ft=… corpus=… status=…".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
scratch="${CORDON_FUZZ_SCRATCH:-$repo/.build-fuzz}"
worker_scratch="${CORDON_WORKER_SCRATCH:-$repo/.build-soak}"
flags=(-c debug -Xswiftc -sanitize=fuzzer,address --scratch-path "$scratch")

build() {  # build PRODUCT…
    [[ "${CORDON_FUZZ_NO_BUILD:-0}" == 1 ]] && return 0
    for p in "$@"; do (cd "$here" && swift build "${flags[@]}" --product "$p" 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2); done
}

build_worker() {
    [[ "${CORDON_FUZZ_NO_BUILD:-0}" == 1 ]] && return 0
    (cd "$repo" && swift build --product cordon-worker --scratch-path "$worker_scratch" 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2)
}

if [[ "${1:-}" == seed-audit ]]; then
    build FuzzAuditVerifier
    tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
    printf '\003' > "$tmp/input"
    CORDON_FUZZ_WRITE_SEED="$tmp" "$scratch/debug/FuzzAuditVerifier" "$tmp/input" >/dev/null 2>&1
    out="$here/corpus/FuzzAuditVerifier"; mkdir -p "$out"
    { printf '\000'; cat "$tmp/audit.log"; } > "$out/log-only"
    { printf '\001'; cat "$tmp/audit.log"; printf '\000'; cat "$tmp/audit.log.head"; } > "$out/log-and-head"
    { printf '\002'; head -n 1 "$tmp/audit.log"; printf '\000'; tail -n +2 "$tmp/audit.log"; } > "$out/rotated-pair"
    { printf '\003'; cat "$tmp/audit.log"; printf '\000'; cat "$tmp/audit.log.head"; } > "$out/recover-and-append"
    { printf '\000'; cat "$tmp/audit.log"; head -c 40 "$tmp/audit.log"; } > "$out/torn-tail"
    ls -l "$out"
    exit 0
fi

target="${1:?usage: run.sh TARGET SECONDS [libFuzzer flags]}"
seconds="${2:?usage: run.sh TARGET SECONDS [libFuzzer flags]}"
shift 2
[[ -d "$here/corpus/$target" ]] || { echo "unknown target $target" >&2; exit 2; }

build "$target"
extra=(-timeout=10 -rss_limit_mb=2048)
if [[ "$target" == FuzzModuleLoading ]]; then
    build_worker
    export CORDON_WORKER="$worker_scratch/debug/cordon-worker"
    # Spawning processes per input: slow by design. A hang of the SUPERVISOR is the bug we look for.
    # LeakSanitizer is off here: it flags Swift weak-reference side tables (their pointer is stored
    # encoded in the object's refcount word, invisible to LSan) allocated by the reactor's [weak slot]
    # captures. The harness checks fds and child processes itself every 100 inputs instead.
    # The same false positive can also surface in ASan's at-exit leak check (once in 2 CI runs: 4,128 bytes
    # in 2 allocations, while the Supervisor global and its reactor thread are still alive): off here too.
    extra=(-timeout=40 -rss_limit_mb=4096 -max_len=8192 -detect_leaks=0)
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0}"
fi

work="${CORDON_FUZZ_WORK:-$scratch/runs}/$target"
artifacts="$here/artifacts/$target"
mkdir -p "$work/corpus" "$artifacts"
cp -n "$here/corpus/$target/"* "$work/corpus/" 2>/dev/null || true
log="$work/last-run.log"

status=0
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}" \
"$scratch/debug/$target" "$work/corpus" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${extra[@]}" "$@" >"$log" 2>&1 || status=$?

# Final numbers: the last status line (#N … cov: C ft: F corp: …) and the exec rate.
last="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
execs="$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)"
rate="$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}' || true)"
cov="$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")"
ft="$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")"
corp="$(sed -nE 's/.* corp: ([0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p' <<<"$last")"
grep -E 'FuzzModuleLoading:|ERROR: |SUMMARY: |Fatal error|property violated|==[0-9]+==' "$log" | head -n 20 || true

if [[ "${CORDON_FUZZ_MERGE:-0}" == 1 && $status == 0 ]]; then
    "$scratch/debug/$target" -merge=1 "$here/corpus/$target" "$work/corpus" >/dev/null 2>&1 || true
fi
echo "RESULT $target execs=${execs:-?} exec/s=${rate:-?} cov=${cov:-?} ft=${ft:-?} corpus=${corp:-?} status=$status log=$log"
exit "$status"
