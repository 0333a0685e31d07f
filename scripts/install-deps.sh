#!/usr/bin/env bash
# Installs the Debian packages matcomp needs, only those missing; silent when all are there.
# Idempotent. Runs apt-get as root (directly, or through sudo when not root).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libopenblas-openmp-dev liblapacke-dev zlib1g-dev
  libgtest-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev
  libcurl4-openssl-dev libssl-dev
  libopenmpi-dev openmpi-bin
  python3 python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
