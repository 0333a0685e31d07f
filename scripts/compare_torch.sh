#!/usr/bin/env bash
# Training throughput and peak memory of matcomp against the PyTorch anchors, interleaved
# (ours, torch, ours, torch, ...) so both see the same machine state; prints the ratio of medians.
#
#   scripts/compare_torch.sh [ANCHORS_DIR] [ROUNDS]
#
# ANCHORS_DIR defaults to anchors (the PyTorch scripts in this repository); ROUNDS to 3.
# scripts/install-deps.sh --anchors installs what they need.
# Environment: BUILD (default build), PYTHON (default /usr/bin/python3, which has torch),
# BLAS_DIR (OpenBLAS OpenMP build directory for torch's LD_LIBRARY_PATH), KERNELS (both: with
# and without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE when they are set, the default; as-is: once).
# Each comparison is a row of COMPARISONS: bench name | anchor script + args | JSON path of
# the anchor's throughput. A bench that the binary does not have is skipped.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ANCHORS="${1:-$ROOT/anchors}"
ROUNDS="${2:-3}"
BUILD="${BUILD:-$ROOT/build}"
PYTHON="${PYTHON:-/usr/bin/python3}"
BLAS_DIR="${BLAS_DIR:-/usr/lib/x86_64-linux-gnu/openblas-openmp}"
BENCH="$BUILD/bin/matcomp-bench"

COMPARISONS=(
  "BM_TrainStep_PtbSmallLstm|torch_ptb_lstm.py --only small|results.small.tokens_per_s"
  # medium is slow (about a minute per torch run); uncomment for the full comparison
  # "BM_TrainStep_PtbMediumLstm|torch_ptb_lstm.py --only medium|results.medium.tokens_per_s"
  # The reference CIFAR-10 model (TF tutorial; layers/models/cifar10_cnn.h), batch 128, SGD lr 0.1.
  "BM_TrainStep_Cifar10Cnn|torch_cifar_reference.py|train_images_per_s"
)

[ -x "$BENCH" ] || { echo "no $BENCH: build matcomp-bench first" >&2; exit 1; }

# OpenBLAS picks its kernels from the CPU unless OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) name
# them, and the choice moves both sides' speed. Where they are set, the comparison runs twice:
# with them, then without them (autodetected); set KERNELS=as-is for one run.
if [ -z "${COMPARE_TORCH_INNER:-}" ] && [ "${KERNELS:-both}" = both ] && [ -n "${OPENBLAS_CORETYPE:-}${OPENBLAS_L2_SIZE:-}" ]; then
  COMPARE_TORCH_INNER=1 "$0" "$@"
  echo
  COMPARE_TORCH_INNER=1 env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$0" "$@"
  exit
fi
# Both sides load the same OpenBLAS (ours links it; torch gets it through LD_LIBRARY_PATH), so
# they run the same kernels: name them.
core="$(LD_LIBRARY_PATH="$BLAS_DIR" "$PYTHON" -c '
import ctypes, ctypes.util, glob, sys
lib = (glob.glob(sys.argv[1] + "/libopenblas*.so*") or [ctypes.util.find_library("openblas") or "libopenblas.so.0"])[0]
f = ctypes.CDLL(lib).openblas_get_corename; f.restype = ctypes.c_char_p; print(f().decode())' "$BLAS_DIR" 2>/dev/null || echo unknown)"
echo "OpenBLAS kernels, both sides: $core (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset, autodetected}, OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-unset})"
echo
[ -d "$ANCHORS" ] || { echo "no anchors folder $ANCHORS" >&2; exit 1; }
available="$("$BENCH" --benchmark_list_tests=true)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Runs a command, prints its stdout, and writes its peak RSS (MiB) to $TMP/rss.
measure() {
  "$PYTHON" - "$TMP/rss" "$@" <<'PY'
import resource, subprocess, sys
out = subprocess.run(sys.argv[2:], check=True, stdout=subprocess.PIPE, text=True).stdout
open(sys.argv[1], "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0))
sys.stdout.write(out)
PY
}

# ratio: of the medians; per round: each round's ours/torch, lowest..highest; claimable: the
# slowest round of ours over the median of theirs (a speed-up is claimed only from that).
printf '| bench | ours (median) | torch (median) | ratio ours/torch | per round | claimable (slowest ours / median torch) | peak RSS ours MiB | peak RSS torch MiB |\n|---|---|---|---|---|---|---|---|\n'
for row in "${COMPARISONS[@]}"; do
  IFS='|' read -r bench anchor field <<<"$row"
  grep -qE "^$bench(/|$)" <<<"$available" || { echo "skip $bench (not in matcomp-bench)" >&2; continue; }
  read -r -a anchor_cmd <<<"$anchor"
  ours=(); theirs=(); rss_ours=(); rss_theirs=()
  for ((r = 0; r < ROUNDS; r++)); do
    measure "$BENCH" --benchmark_filter="^$bench(/|$)" --benchmark_format=json --benchmark_min_time=3 > "$TMP/ours.json"
    rss_ours+=("$(cat "$TMP/rss")")
    ours+=("$("$PYTHON" -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]; print(b["items_per_second"])' "$TMP/ours.json")")
    # The step's arithmetic rate, where the bench reports one (the CNN's conv + dense FLOPs).
    "$PYTHON" -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]; "GFLOP/s" in b and print(sys.argv[2], b["GFLOP/s"])' \
      "$TMP/ours.json" "$bench" >> "$TMP/gflops"
    # the CNN and PTB benches' labels name the product their layers ran on (builtin or openblas)
    "$PYTHON" -c 'import json,sys; b=json.load(open(sys.argv[1]))["benchmarks"][0]; "label" in b and print(b["label"])' \
      "$TMP/ours.json" > "$TMP/label" && [ -s "$TMP/label" ] && cp "$TMP/label" "$TMP/gemm"
    LD_LIBRARY_PATH="$BLAS_DIR" measure "$PYTHON" "$ANCHORS/${anchor_cmd[0]}" "${anchor_cmd[@]:1}" > "$TMP/torch.json"
    rss_theirs+=("$(cat "$TMP/rss")")
    theirs+=("$("$PYTHON" -c '
import json, sys
v = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
for k in sys.argv[2].split("."): v = v[k]
print(v)' "$TMP/torch.json" "$field")")
    echo "$bench round $((r + 1)): ours ${ours[-1]} torch ${theirs[-1]} (rss ${rss_ours[-1]} / ${rss_theirs[-1]} MiB)" >&2
  done
  "$PYTHON" - "$bench" "${ours[*]}" "${theirs[*]}" "${rss_ours[*]}" "${rss_theirs[*]}" <<'PY'
import statistics, sys
name, ours, theirs, ro, rt = sys.argv[1], *[[float(x) for x in a.split()] for a in sys.argv[2:]]
mo, mt = statistics.median(ours), statistics.median(theirs)
per_round = [o / t for o, t in zip(ours, theirs)]
print(f"| {name} | {mo:.0f} | {mt:.0f} | {mo / mt:.2f} | {min(per_round):.2f}..{max(per_round):.2f} | "
      f"{min(ours) / mt:.2f} | {max(ro):.0f} | {max(rt):.0f} |")
PY
done

# Share of the sgemm peak: the median GFLOP/s of each step that reports one, over the best rate
# a 1024^3 product reaches here, measured now: OpenBLAS's cblas_sgemm, or the layers'
# builtin kernel where the build has it (OPENBLAS_CORETYPE does not reach that one, so with
# an older OpenBLAS kernel forced it is the machine's faster sgemm).
if [ -s "$TMP/gflops" ]; then
  "$BENCH" --benchmark_filter='^BM_(SgemmRawCblas|BuiltinGemm)/1024/1024/1024/' --benchmark_min_time=2 \
    --benchmark_format=json > "$TMP/peak.json" 2>/dev/null
  "$PYTHON" - "$TMP/gflops" "$TMP/peak.json" "$TMP/gemm" <<'PY'
import collections, json, statistics, sys
peaks = {b["name"].split("/")[0]: b["GFLOP/s"] / 1e9 for b in json.load(open(sys.argv[2]))["benchmarks"]
         if "GFLOP/s" in b and not b.get("error_occurred")}
best = max(peaks, key=peaks.get)
peak = peaks[best]
rates = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, value = line.split()
    rates[name].append(float(value) / 1e9)
print()
print("1024^3 products: " + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in sorted(peaks.items())))
try:
    print("matcomp's convolutions and dense layers ran on: " + open(sys.argv[3]).read().strip())
except OSError:
    pass
for name, values in rates.items():
    m = statistics.median(values)
    print(f"{name}: {m:.1f} GFLOP/s (median of rounds) = {100 * m / peak:.0f} % of the sgemm peak "
          f"({peak:.1f} GFLOP/s, 1024^3 {best})")
PY
fi
