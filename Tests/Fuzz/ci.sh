#!/usr/bin/env bash
# Bounded fuzzing for CI (.ci/run calls this): builds every fuzz target once (instrumented, separate scratch
# dir) and the uninstrumented cordon-worker, then runs each target on a fresh copy of its committed corpus,
# two at a time (2 cores): 25 s each, FuzzModuleLoading 20 s. Any crash, ASan report, property violation,
# supervisor hang or leak fails the script. Measured on the 2-core dev box: see docs/security.md.
#   CORDON_FUZZ_CI_SECONDS   per-target time (default 25)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
scratch="${CORDON_FUZZ_SCRATCH:-$repo/.build-fuzz}"
worker_scratch="${CORDON_WORKER_SCRATCH:-$repo/.build-soak}"
seconds="${CORDON_FUZZ_CI_SECONDS:-25}"
start=$SECONDS

echo "== building fuzz targets ($scratch) and cordon-worker ($worker_scratch)"
(cd "$here" && swift build -c debug -Xswiftc -sanitize=fuzzer,address --scratch-path "$scratch" 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]|Cannot export local symbol')
(cd "$repo" && swift build --product cordon-worker --scratch-path "$worker_scratch" 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]')
echo "== build: $((SECONDS - start)) s"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CORDON_FUZZ_NO_BUILD=1 CORDON_FUZZ_WORK="$work"

pair() {  # run two targets concurrently; fail if either fails
    local pids=() names=() status=0
    for spec in "$@"; do
        local target="${spec%%:*}" secs="${spec##*:}"
        "$here/run.sh" "$target" "$secs" >"$work/$target.out" 2>&1 &
        pids+=($!); names+=("$target")
    done
    for i in "${!pids[@]}"; do
        if wait "${pids[$i]}"; then tail -n 1 "$work/${names[$i]}.out"
        else
            status=1; echo "FAILED: ${names[$i]}"; tail -n 40 "$work/${names[$i]}.out"
            # Keep the whole libFuzzer log next to the crash artifacts (the work dir is removed on exit).
            mkdir -p "$here/artifacts/${names[$i]}"
            cp "$work/${names[$i]}/last-run.log" "$here/artifacts/${names[$i]}/ci-last-run.log" 2>/dev/null || true
        fi
    done
    return $status
}

failed=0
pair "FuzzFrameDecoder:$seconds" "FuzzHostCallDecoding:$seconds" || failed=1
pair "FuzzPolicyParser:$seconds" "FuzzAuditVerifier:$seconds" || failed=1
pair "FuzzModuleLoading:$((seconds * 4 / 5))" || failed=1
echo "== fuzz CI total: $((SECONDS - start)) s"
exit $failed
