#!/usr/bin/env python3
"""Runs the official WASI test suite (legacy JSON specifications) through `cordon run`.

Usage: scripts/wasi-testsuite.py [--cordon PATH] [--suite DIR]

Each `*.wasm` under the suite's test directories is run with the arguments, environment and
preopened root of its `.json` specification (defaults when there is none); the root is copied to
a fresh temporary directory per test, since the suite is read-only and tests write into it. A test
passes when the exit code, and stdout/stderr where the specification gives them, match exactly.
Prints one line per failure and `N passed, N failed`; exits 1 when any failed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_suite(explicit):
    for candidate in [explicit, os.path.join(REPO, "..", "shared", "wasi-testsuite"), "/work/shared/wasi-testsuite"]:
        if candidate and os.path.isdir(candidate):
            return os.path.abspath(candidate)
    sys.exit("wasi-testsuite: suite not found (give --suite DIR)")


def spec_for(wasm):
    path = wasm[:-len(".wasm")] + ".json"
    spec = {"args": [], "env": {}, "root": None, "exit_code": 0}
    if os.path.exists(path):
        with open(path) as f:
            spec.update(json.load(f))
    return spec


def run_one(cordon, wasm, spec, timeout):
    command = [cordon, "run"]
    for key, value in spec.get("env", {}).items():
        command += ["--env", f"{key}={value}"]
    scratch = None
    try:
        if spec.get("root"):
            scratch = tempfile.mkdtemp(prefix="cordon-wasi-suite-")
            root = os.path.join(scratch, "root")
            shutil.copytree(os.path.join(os.path.dirname(wasm), spec["root"]), root, symlinks=True)
            command += ["--dir", f"{root}::/"]
        command += [wasm, "--"] + list(spec.get("args", []))
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timed out"
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    problems = []
    if done.returncode != spec.get("exit_code", 0):
        problems.append(f"exit {done.returncode}, expected {spec.get('exit_code', 0)}")
    for stream in ("stdout", "stderr"):
        if stream in spec and getattr(done, stream).decode(errors="replace") != spec[stream]:
            problems.append(f"{stream} {getattr(done, stream)[:200]!r}, expected {spec[stream][:200]!r}")
    if problems and done.stderr and "stderr" not in spec:
        problems.append("stderr: " + done.stderr.decode(errors="replace").strip()[-300:])
    return "; ".join(problems) or None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cordon", default=os.path.join(REPO, ".build", "debug", "cordon"))
    parser.add_argument("--suite")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    suite = find_suite(args.suite)
    tests = []
    for directory in sorted(os.listdir(suite)):
        full = os.path.join(suite, directory)
        if os.path.isdir(full):
            tests += [os.path.join(full, n) for n in sorted(os.listdir(full)) if n.endswith(".wasm")]
    passed = failed = 0
    for wasm in tests:
        problem = run_one(args.cordon, wasm, spec_for(wasm), args.timeout)
        name = os.path.relpath(wasm, suite)
        if problem:
            failed += 1
            print(f"FAIL {name}: {problem}")
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or not tests else 0)


if __name__ == "__main__":
    main()
