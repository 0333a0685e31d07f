#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ and runs each for a bounded
# time:  scripts/fuzz.sh SECONDS [target...]   (default: every target, 60 s each)
# Seeds: real checkpoints and exports written by the targets themselves, the regression inputs
# in fuzz/regressions/<target>/ and a few hand-made files. Crashers land in
# build-fuzz/crashes/<target>/; copy each into fuzz/regressions/<target>/ once fixed, where the
# unit tests replay them. The last line per target is libFuzzer's "Done N runs in S second(s)".
set -euo pipefail
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_npy fuzz_checkpoint fuzz_export fuzz_cifar10 fuzz_ptb)
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz

mkdir -p "$build"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMATCOMP_FUZZ=ON \
  -DMATCOMP_BUILD_TESTS=OFF -DMATCOMP_BUILD_BENCHMARKS=OFF > "$build/configure.log"
cmake --build "$build" --target "${targets[@]}"

for target in "${targets[@]}"; do
  corpus=$build/corpus/$target seeds=$build/seeds/$target crashes=$build/crashes/$target
  mkdir -p "$corpus" "$seeds" "$crashes"
  case $target in
    fuzz_checkpoint|fuzz_export) MATCOMP_FUZZ_WRITE_SEEDS=$seeds "$build/bin/$target" ;;
    fuzz_npy) python3 - "$seeds" <<'PY' || true
import sys
d = sys.argv[1]
def npy(descr, shape, data):
    h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h.encode() + data
open(d + "/f4.npy", "wb").write(npy("<f4", "(2, 3)", bytes(24)))
open(d + "/i8.npy", "wb").write(npy("<i8", "(3,)", bytes(24)))
open(d + "/scalar.npy", "wb").write(npy("<f8", "()", bytes(8)))
PY
    ;;
    fuzz_ptb) printf 'a b c\nb c\n\0a b\n\0c a\n' > "$seeds/lines" ;;
  esac
  [ -d "$root/fuzz/regressions/$target" ] && cp "$root/fuzz/regressions/$target"/* "$seeds/" 2>/dev/null || true
  echo "== $target, $seconds s"
  "$build/bin/$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$crashes/" "$corpus" "$seeds" 2>&1 | grep -E "^(Done|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY|artifact_prefix)|Test unit written" || true
  echo "crashers kept: $(find "$crashes" -type f | wc -l) in $crashes"
done
