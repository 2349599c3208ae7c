#!/usr/bin/env bash
# Installs the Debian packages Cordon builds and tests against, only when missing; quiet when present.
set -euo pipefail
packages=(libseccomp-dev libcap-dev pkg-config)
[ "${1:-}" = "--with-bench" ] && packages+=(bubblewrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
