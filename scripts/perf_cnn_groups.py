#!/usr/bin/env python3
"""Groups a `perf record` profile of the CIFAR-10 CNN training step by what the time is spent on.

Usage: scripts/perf_cnn_groups.py PERF_DATA

Reads `perf report --no-children --sort dso,sym` (self samples per symbol), assigns each symbol
to the first group whose pattern it matches, and prints each group's share of all samples.
The kernel's samples are split by the user-space entry that led there (`--children` shares of
sched_yield, futex and the page-fault handler), because on a paravirtualised guest most kernel
samples land on the irq-enable point rather than on the work that ran.
"""
import re
import subprocess
import sys

# (group, pattern on "dso [.|k] symbol"), first match wins; order matters.
GROUPS = [
    ("setup: weight init, random images (not the step)", r"Rng::|truncated_normal|ieee754_log|ld-linux|_dl_"),
    ("sgemm compute kernel", r"sgemm_kernel"),
    ("sgemm packing (itcopy/incopy/otcopy/oncopy), beta, other OpenBLAS", r"libopenblas"),
    ("builtin product: convs and dense layers (layers/kernels/layer_gemm.cpp register tiles)", r"builtin_gemm|\)::tile<"),
    ("im2col, or the padded chunk the builtin product reads its windows from", r"im2col|padded_scratch|pad_planes|conv_windows"),
    ("col2im", r"col2im"),
    ("max-pool (max_pool_plane, fused conv1+ReLU+pool and LRN+pool lambdas)", r"pool"),
    ("LRN fwd/bwd", r"lrn|window_scale|neg_pow"),
    ("conv epilogue/prologue (bias, ReLU, scatter, db)", r"conv2d|conv_backward|conv_forward"),
    ("sched_yield, user side (OpenBLAS threads waiting)", r"__sched_yield"),
    ("kernel", r"\[k\]"),
    ("libgomp (OpenMP fork/join)", r"libgomp"),
    ("memcpy/memset", r"memmove|memset|memcpy"),
    ("everything else (dense bias, softmax/loss, ReLU, SGD, autograd)", r"."),
]
# Kernel entries, as inclusive (--children) shares of the whole profile.
KERNEL_ENTRIES = [
    ("  kernel: sched_yield syscall", r"\[k\] __x64_sys_sched_yield$"),
    ("  kernel: futex (OpenMP/OpenBLAS wake-ups)", r"\[k\] __x64_sys_futex$"),
    ("  kernel: page faults", r"\[k\] exc_page_fault$"),
]
LINE = re.compile(r"\s+([0-9.]+)%\s+(?:([0-9.]+)%\s+)?(\S+\s+)?(\[[.k]\])\s+(.*)")


def report(path, children):
    cmd = ["perf", "report", "-i", path, "--stdio", "-g", "none"]
    cmd += ["--children", "--sort", "sym"] if children else ["--no-children", "--sort", "dso,sym"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"perf report failed on {path}: {out.stderr.strip()}")
    rows = []
    for line in out.stdout.splitlines():
        m = LINE.match(line)
        if m:
            rows.append((float(m.group(1)), f"{(m.group(3) or '').strip()} {m.group(4)} {m.group(5).strip()}"))
    return rows


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    shares = {name: 0.0 for name, _ in GROUPS}
    total = 0.0
    for share, sym in report(sys.argv[1], children=False):
        total += share
        for name, pattern in GROUPS:
            if re.search(pattern, sym):
                shares[name] += share
                break
    if total == 0:
        sys.exit(f"no samples in {sys.argv[1]}")
    for name, _ in GROUPS:
        print(f"{shares[name]:6.1f} %  {name}")
    inclusive = report(sys.argv[1], children=True)
    accounted = 0.0
    for name, pattern in KERNEL_ENTRIES:
        share = sum(s for s, sym in inclusive if re.search(pattern, sym))
        accounted += share
        print(f"{share:6.1f} %  {name}")
    print(f"{shares['kernel'] - accounted:6.1f} %    kernel: the rest (timer, scheduling)")
    print(f"{total:6.1f} %  total")


if __name__ == "__main__":
    main()
