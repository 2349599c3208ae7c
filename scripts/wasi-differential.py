#!/usr/bin/env python3
"""Differential test: C programs of ours (Tests/WASIDifferential/*.c), compiled with wasi-libc, run
by wasmtime (the reference) and by `cordon run`; stdout and the exit code must be identical.

Usage: scripts/wasi-differential.py [--cordon PATH]
Each program gets the same arguments, environment, stdin and a fresh empty directory preopened as
/data. Prints one line per program and `N passed, N failed`; exits 1 when any failed.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import wasmtime

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = os.path.join(REPO, "Tests", "WASIDifferential")
CLANG = ["/opt/swift/usr/bin/clang", "--target=wasm32-wasi", "--sysroot=/usr",
         "-resource-dir", "/usr/lib/llvm-14/lib/clang/14.0.6", "-O2"]
ARGS = ["first arg", "second"]
ENV = [("GREETING", "hello world"), ("EMPTY", "")]
STDIN = b"some input\nfor the program\n"


def run_wasmtime(wasm, name, data, scratch):
    config = wasmtime.WasiConfig()
    config.argv = [name] + ARGS
    config.env = ENV
    stdin, stdout = os.path.join(scratch, "stdin"), os.path.join(scratch, "stdout")
    with open(stdin, "wb") as f:
        f.write(STDIN)
    config.stdin_file = stdin
    config.stdout_file = stdout
    config.stderr_file = os.path.join(scratch, "stderr")
    config.preopen_dir(data, "/data")
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    instance = linker.instantiate(store, wasmtime.Module.from_file(engine, wasm))
    code = 0
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as e:
        code = e.code
    with open(stdout, "rb") as f:
        return code, f.read()


def run_cordon(cordon, wasm, data):
    command = [cordon, "run"]
    for k, v in ENV:
        command += ["--env", f"{k}={v}"]
    command += ["--dir", f"{data}::/data", wasm, "--"] + ARGS
    done = subprocess.run(command, input=STDIN, capture_output=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cordon", default=os.path.join(REPO, ".build", "debug", "cordon"))
    args = parser.parse_args()
    passed = failed = 0
    for source in sorted(n for n in os.listdir(SOURCES) if n.endswith(".c")):
        name = source[:-2]
        with tempfile.TemporaryDirectory(prefix="cordon-wasi-diff-") as scratch:
            wasm = os.path.join(scratch, name + ".wasm")
            subprocess.run(CLANG + [os.path.join(SOURCES, source), "-o", wasm], check=True)
            reference, mine = os.path.join(scratch, "ref"), os.path.join(scratch, "mine")
            os.mkdir(reference)
            os.mkdir(mine)
            ref_code, ref_out = run_wasmtime(wasm, name + ".wasm", reference, scratch)
            code, out, err = run_cordon(args.cordon, wasm, mine)
            if (code, out) == (ref_code, ref_out):
                passed += 1
                print(f"ok   {name}")
            else:
                failed += 1
                print(f"FAIL {name}: exit {code} (wasmtime {ref_code})")
                print(f"  cordon:   {out[:400]!r}\n  wasmtime: {ref_out[:400]!r}\n  stderr:   {err[-300:]!r}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
