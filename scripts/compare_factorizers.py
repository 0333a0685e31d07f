#!/usr/bin/python3
"""Side by side: our factorizers against numpy / scikit-learn on the same matrices.

Runs ours and theirs alternately (ours, theirs, ours, theirs, ...) and reports medians, so
machine noise hits both sides alike. Our time is the factorization alone; theirs is the
library call alone. Two modes:

  scripts/compare_factorizers.py --bin build/bin/matcomp-factorize [--sizes 512 2304x384]
      bin/matcomp-factorize on the anchors' test matrices (anchors/matrices.py) with
      fixed settings; prints a Markdown table. Section "dictrounds" finds the fewest rounds of
      our dictionary learning that reach scikit-learn's error and times that run.

  scripts/compare_factorizers.py --suite --bench build/bin/matcomp-bench --filter REGEX \
          --out-ours ours.json --out-theirs theirs.json
      the BM_Factor cases of matcomp-bench (benchmarks/bench_factorizers.cpp) that REGEX
      selects, each one interleaved with what numpy / scikit-learn run for the same work
      (anchors/sklearn_equivalents.py) on the very matrix the benchmark factored (it
      writes them as .npy: MATCOMP_BENCH_SAVE_MATRICES). ours.json is Google Benchmark JSON
      (every repetition), theirs.json lists the library runs; scripts/factorizer_report.py
      turns both into the table and plots.

It runs itself with LD_LIBRARY_PATH pointing at OpenBLAS's OpenMP build (BLAS_DIR), so numpy
uses the same BLAS as matcomp; scripts/install-deps.sh --anchors installs what it needs.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

BLAS_DIR = os.environ.get("BLAS_DIR", "/usr/lib/x86_64-linux-gnu/openblas-openmp")
# numpy must multiply with the BLAS matcomp uses (OpenBLAS, OpenMP build): Debian's default
# may be the reference BLAS. LD_LIBRARY_PATH is read when the process starts, so restart once.
if os.path.isdir(BLAS_DIR) and BLAS_DIR not in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
    os.environ["LD_LIBRARY_PATH"] = BLAS_DIR + ":" + os.environ.get("LD_LIBRARY_PATH", "")
    os.execv(sys.executable, [sys.executable] + sys.argv)

import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ours(binary, args, threads):
    cmd = [binary, "--json", "--threads", str(threads)] + args
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def timed(fn):
    t0 = time.perf_counter()
    res = fn()
    return time.perf_counter() - t0, res


def shape_arg(text):
    """"512" (square) or "2304x384"."""
    parts = text.lower().split("x")
    try:
        dims = [int(p) for p in parts]
    except ValueError:
        dims = []
    if len(dims) not in (1, 2) or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"size must be M or MxN with positive integers, got {text!r}")
    return (dims[0], dims[-1])


def median(values):
    return statistics.median(values)


def regex_literal(name):
    """`name` as a benchmark filter matching it alone (Google Benchmark's regex syntax)."""
    return "^" + re.sub(r"([.^$|()\[\]{}*+?\\])", r"\\\1", name) + "$"


def run_suite(args):
    sys.path.insert(0, os.path.abspath(args.anchors))
    from matrices import rel_err  # noqa: E402
    from sklearn_equivalents import equivalents  # noqa: E402
    if not os.path.isfile(args.bench):
        sys.exit(f"compare_factorizers: --bench {args.bench} not found (build the matcomp-bench target)")
    listed = subprocess.run([args.bench, "--benchmark_list_tests=true", f"--benchmark_filter={args.filter}"],
                            check=True, capture_output=True, text=True).stdout.split()
    cases = [c for c in listed if c.startswith("BM_Factor/")]
    if not cases:
        sys.exit(f"compare_factorizers: --filter {args.filter!r} selects no BM_Factor case")
    work = tempfile.mkdtemp(prefix="factor_suite_")
    env = dict(os.environ, MATCOMP_BENCH_SAVE_MATRICES=work, MATCOMP_BENCH_THREADS=str(args.threads))
    ours_runs, context = [], None
    theirs = {}  # (case, library) -> {"seconds": [...], "rel_error": x}
    for rep in range(args.reps):
        for case in cases:
            out = subprocess.run([args.bench, f"--benchmark_filter={regex_literal(case)}", "--benchmark_format=json",
                                  f"--benchmark_min_time={args.min_time}"],
                                 check=True, capture_output=True, text=True, env=env).stdout
            doc = json.loads(out)
            context = context or doc.get("context")
            runs = [b for b in doc.get("benchmarks", []) if b.get("name") == case]
            if len(runs) != 1:
                sys.exit(f"compare_factorizers: {case}: expected one result from {args.bench}, got {len(runs)}")
            run = runs[0]
            run["repetition_index"] = rep
            ours_runs.append(run)
            if run.get("error_occurred"):
                print(f"# {case}: skipped by the benchmark: {run.get('error_message')}", file=sys.stderr)
                continue
            label = json.loads(run["label"])
            method = case.split("/")[1]
            a = np.load(os.path.join(work, label["matrix"] + ".npy"))
            for library, fit, approx in equivalents(method, label["settings"]):
                t, fitted = timed(lambda: fit(a))
                entry = theirs.setdefault((case, library), {"seconds": [], "rel_error": None})
                entry["seconds"].append(t)
                entry["rel_error"] = rel_err(a, approx(fitted, a))
                print(f"# rep {rep} {case}: ours {run['real_time']:.4g} {run['time_unit']}, err {run['rel_error']:.4f}; "
                      f"{library} {t * 1e3:.4g} ms, err {entry['rel_error']:.4f}", file=sys.stderr, flush=True)
    write_json(args.out_ours, {"context": context, "benchmarks": ours_runs})
    write_json(args.out_theirs, {
        "note": "numpy / scikit-learn on the matrices of the BM_Factor cases, interleaved with them",
        "threads": args.threads,
        "cases": [{"name": case, "library": library, "seconds": e["seconds"], "median_seconds": median(e["seconds"]),
                   "rel_error": e["rel_error"]} for (case, library), e in theirs.items()]})


def write_json(path, doc):
    """Atomically: a temporary file in the same folder, then a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp_" + os.path.basename(path))
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "bin", "matcomp-factorize"))
    ap.add_argument("--anchors", default=os.path.join(REPO, "bench", "anchors"),
                    help="folder with matrices.py (test matrices, rel_err) and sklearn_equivalents.py")
    ap.add_argument("--sizes", type=shape_arg, nargs="+", default=[(512, 512), (1024, 1024)],
                    help="matrix shapes, M (square) or MxN")
    ap.add_argument("--kinds", nargs="+", default=["gaussian", "decay"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sections", nargs="+", default=["svd", "kmeans", "omp", "dictlearn"],
                    help="svd kmeans omp dictlearn dictrounds")
    ap.add_argument("--max-rounds", type=int, default=10, help="dictrounds: most rounds of ours to try")
    ap.add_argument("--suite", action="store_true", help="compare the BM_Factor cases of matcomp-bench instead")
    ap.add_argument("--bench", default=os.path.join(REPO, "build", "bin", "matcomp-bench"))
    ap.add_argument("--filter", default=r"^BM_Factor/.*/(2304x384|384x192)/.*/decay1/",
                    help="--suite: the BM_Factor cases to run (a Google Benchmark filter)")
    ap.add_argument("--min-time", type=float, default=0.1, help="--suite: --benchmark_min_time of each run of ours")
    ap.add_argument("--out-ours", default="factor_ours.json", help="--suite: Google Benchmark JSON of ours")
    ap.add_argument("--out-theirs", default="factor_theirs.json", help="--suite: JSON of numpy / scikit-learn")
    args = ap.parse_args()
    if args.reps < 1:
        ap.error("--reps must be at least 1")
    if args.suite:
        # Theirs on as many threads as ours (MATCOMP_BENCH_THREADS).
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=args.threads):
            return run_suite(args)
    sys.path.insert(0, os.path.abspath(args.anchors))
    from matrices import rel_err, test_matrix  # noqa: E402
    from sklearn.cluster import KMeans
    from sklearn.decomposition import DictionaryLearning, MiniBatchDictionaryLearning
    from sklearn.linear_model import orthogonal_mp
    from sklearn.utils.extmath import randomized_svd
    warnings.simplefilter("ignore")

    work = tempfile.mkdtemp(prefix="compare_factorizers_")
    rows = []

    def compare(name, kind, size, our_args, theirs_fn, check=None):
        ot, tt, oe, te, extra = [], [], None, None, ""
        for _ in range(args.reps):
            j = ours(args.bin, our_args, args.threads)
            ot.append(j["seconds"])
            oe = j["rel_error"]
            t, res = timed(theirs_fn)
            tt.append(t)
            te = res["rel_error"]
            if check:
                extra = check(res)
        o, t = median(ot), median(tt)
        rows.append((name, kind, size, o, t, t / o, oe, te, extra))
        print(f"# {name} {kind} {size}: ours {o:.4f}s theirs {t:.4f}s ({t / o:.1f}x) err {oe:.4f} vs {te:.4f} {extra}",
              file=sys.stderr, flush=True)

    for m, n in args.sizes:
        size = str(m) if m == n else f"{m}x{n}"
        for kind in args.kinds:
            A = test_matrix(kind, m, n)
            a_path = os.path.join(work, f"A_{kind}_{m}x{n}.npy")
            np.save(a_path, A)
            k = min(m, n) // 8
            if "svd" in args.sections:
                def np_svd():
                    U, s, Vt = np.linalg.svd(A, full_matrices=False)
                    return {"rel_error": rel_err(A, (U[:, :k] * s[:k]) @ Vt[:k])}
                compare(f"truncated SVD k={k} (full) vs numpy.linalg.svd", kind, size,
                        ["--input", a_path, "--method", "lowrank", "--rank", str(k), "--solver", "full"], np_svd)

                def sk_rsvd():
                    U, s, Vt = randomized_svd(A, k, random_state=0)
                    return {"rel_error": rel_err(A, (U * s) @ Vt)}
                compare(f"randomized SVD k={k} vs sklearn randomized_svd", kind, size,
                        ["--input", a_path, "--method", "lowrank", "--rank", str(k), "--solver", "randomized"], sk_rsvd)
            if "kmeans" in args.sections:
                for K in (16, 256):
                    def sk_km(K=K):
                        km = KMeans(n_clusters=K, n_init=1, random_state=0).fit(A.reshape(-1, 1))
                        return {"rel_error": rel_err(A, km.cluster_centers_[km.labels_].reshape(A.shape))}
                    compare(f"scalar k-means K={K} vs KMeans(n_init=1)", kind, size,
                            ["--input", a_path, "--method", "kmeans", "--levels", str(K), "--no-zero-centroid"], sk_km)
            if "omp" in args.sections:
                # The anchor's problem: the n columns of A (length m) against a random unit-norm
                # m x 2m dictionary. Ours codes rows, so it gets A^T and D^T (atoms as rows).
                rng = np.random.default_rng(1)
                D = rng.standard_normal((m, 2 * m)).astype(np.float32)
                D /= np.linalg.norm(D, axis=0, keepdims=True)
                at_path = os.path.join(work, f"At_{kind}_{m}x{n}.npy")
                dt_path = os.path.join(work, f"Dt_{m}.npy")
                np.save(at_path, np.ascontiguousarray(A.T))
                np.save(dt_path, np.ascontiguousarray(D.T))
                prefix = os.path.join(work, f"omp_{kind}_{m}x{n}")

                def sk_omp():
                    C = orthogonal_mp(D, A, n_nonzero_coefs=8)
                    return {"rel_error": rel_err(A, D.astype(np.float64) @ C), "C": C}

                def same_support(res):
                    idx = np.load(prefix + ".indices.npy")
                    ours_sets = [set(int(i) for i in r if i >= 0) for r in idx]
                    theirs_sets = [set(np.flatnonzero(res["C"][:, j]).tolist()) for j in range(A.shape[1])]
                    agree = sum(o == t for o, t in zip(ours_sets, theirs_sets))
                    return f"supports agree {agree}/{len(ours_sets)}"
                compare("OMP 8 nonzeros, 2m atoms vs orthogonal_mp", kind, size,
                        ["--input", at_path, "--method", "omp", "--dictionary", dt_path, "--nnz", "8",
                         "--codes", "sparse", "--output", prefix], sk_omp, same_support)
            nc = min(256, m // 2)
            learners = ((DictionaryLearning, "DictionaryLearning", {}),
                        (MiniBatchDictionaryLearning, "MiniBatchDictionaryLearning", {"batch_size": 256}))

            def sk_dl(cls, extra):
                def fit():
                    est = cls(n_components=nc, alpha=1.0, max_iter=10, fit_algorithm="cd",
                              transform_algorithm="omp", transform_n_nonzero_coefs=8, random_state=0, **extra)
                    C = est.fit(A).transform(A)
                    return {"rel_error": rel_err(A, C.astype(np.float64) @ est.components_.astype(np.float64))}
                return fit

            def dl_args(iters):
                return ["--input", a_path, "--method", "dictionary", "--atoms", str(nc), "--nnz", "8", "--iters", str(iters)]
            if "dictlearn" in args.sections:
                # Ours at 1 round (one dictionary update between two codings) and at 10.
                for (cls, label, extra), iters in [(c, i) for c in learners for i in (1, 10)]:
                    compare(f"dictionary learning {nc} atoms, 8 nnz, ours {iters} iters vs {label} (10 iters, fit+transform)",
                            kind, size, dl_args(iters), sk_dl(cls, extra))
            if "dictrounds" in args.sections:
                # The fewest rounds of ours whose error is at most theirs (deterministic on both
                # sides: fixed seeds), then that run timed against theirs, interleaved.
                for cls, label, extra in learners:
                    their_err = sk_dl(cls, extra)()["rel_error"]
                    rounds = None
                    for r in range(args.max_rounds + 1):
                        if ours(args.bin, dl_args(r), args.threads)["rel_error"] <= their_err:
                            rounds = r
                            break
                    if rounds is None:
                        print(f"# dictrounds {label} {kind} {size}: no run of ours up to {args.max_rounds} rounds "
                              f"reaches {their_err:.4f}", file=sys.stderr)
                        rows.append((f"dictionary learning {nc} atoms, 8 nnz: ours never reaches {label} (10 iters) "
                                     f"within {args.max_rounds} rounds", kind, size, float("nan"), float("nan"),
                                     float("nan"), float("nan"), their_err, ""))
                        continue
                    compare(f"dictionary learning {nc} atoms, 8 nnz, ours {rounds} rounds (the fewest reaching theirs) "
                            f"vs {label} (10 iters, fit+transform)", kind, size, dl_args(rounds), sk_dl(cls, extra))

    print("| comparison | matrix | m | ours (s) | theirs (s) | speed-up | rel. error ours | rel. error theirs | note |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, kind, size, o, t, r, oe, te, extra in rows:
        print(f"| {name} | {kind} | {size} | {o:.4f} | {t:.4f} | {r:.1f}x | {oe:.4f} | {te:.4f} | {extra} |")


if __name__ == "__main__":
    main()
