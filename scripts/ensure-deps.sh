#!/usr/bin/env bash
# Installs the Debian packages Cordon builds and tests against, only when missing; quiet when present.
set -euo pipefail
# bubblewrap: the benchmark's cold-spawn baseline, and the CLI test that refuses user namespaces.
# wasi-libc, libclang-rt-dev-wasm32: `cordon build --wasi`, and the WASI differential test's C programs.
# wabt: wat2wasm builds the test plugin of Tests/serve/test_serve.py.
# openssl, curl: that test's TLS certificate (openssl req) and clients (curl, openssl s_client).
# libsqlite3-dev: GRDB (cordon serve's state) links the system SQLite.
# systemd: systemd-analyze checks deploy/cordon.service offline (scripts/check-deploy.py).
packages=(libseccomp-dev libcap-dev libsqlite3-dev pkg-config jq python3 bubblewrap wasi-libc libclang-rt-dev-wasm32 wabt openssl curl systemd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The audit tests validate every event against the published JSON Schema with an independent
# validator (python3 jsonschema), whichever python3 is first on PATH.
if ! python3 -c 'import jsonschema' 2>/dev/null; then
  $sudo apt-get install -y -qq python3-jsonschema >/dev/null 2>&1 || true
  python3 -c 'import jsonschema' 2>/dev/null || python3 -m pip install -q jsonschema >/dev/null 2>&1 || true
fi

# scripts/check-deploy.py validates deploy/daemonset.yaml against Kubernetes' published schemas.
if ! python3 -c 'import kubernetes_validate' 2>/dev/null; then
  python3 -m pip install -q kubernetes-validate >/dev/null 2>&1 || python3 -m pip install -q --break-system-packages kubernetes-validate >/dev/null 2>&1 || true
fi

# The WASI differential test runs each program under wasmtime too (its Python embedding).
if ! python3 -c 'import wasmtime' 2>/dev/null; then
  python3 -m pip install -q wasmtime >/dev/null 2>&1 || python3 -m pip install -q --break-system-packages wasmtime >/dev/null 2>&1 || true
fi
