#!/usr/bin/env bash
# Installs the Debian packages matcomp needs, only those missing; silent when all are there.
# Idempotent. Runs apt-get as root (directly, or through sudo when not root).
#   scripts/install-deps.sh             what building and testing matcomp needs
#   scripts/install-deps.sh --anchors   also what the PyTorch / scikit-learn comparisons need
#                                       (scripts/compare_torch.sh, scripts/compare_factorizers.py)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libopenblas-openmp-dev liblapacke-dev zlib1g-dev
  libgtest-dev libbenchmark-dev nlohmann-json3-dev libcli11-dev
  libcurl4-openssl-dev libssl-dev
  libopenmpi-dev openmpi-bin
  python3 python3-numpy
  librsvg2-bin  # rsvg-convert: the sweeps' figures also as PDF (without it: SVG only)
)
case "${1:-}" in
  "") ;;
  --anchors)
    # Debian's python3-torch links the reference BLAS unless an OpenBLAS runtime is present;
    # the comparison scripts load the OpenMP build (the one matcomp uses) via LD_LIBRARY_PATH.
    packages+=(python3-torch python3-sklearn python3-scipy libopenblas0-openmp) ;;
  -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
  *) echo "install-deps: unknown argument '$1' (--anchors, --help)" >&2; exit 2 ;;
esac

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
