#!/usr/bin/python3
"""Side by side: bin/matcomp-factorize against numpy / scikit-learn on the same matrices.

Runs ours and theirs alternately (ours, theirs, ours, theirs, ...) and reports medians, so
machine noise hits both sides alike. Our time is the factorization alone (the tool's
"seconds"); theirs is the library call alone. Prints a Markdown table.

  scripts/compare_factorizers.py --bin build/bin/matcomp-factorize

It runs itself with LD_LIBRARY_PATH pointing at OpenBLAS's OpenMP build (BLAS_DIR), so numpy
uses the same BLAS as matcomp; scripts/install-deps.sh --anchors installs what it needs.
"""
import argparse
import json
import os
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "bin", "matcomp-factorize"))
    ap.add_argument("--anchors", default=os.path.join(REPO, "bench", "anchors"),
                    help="folder with matrices.py (test matrices, rel_err)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--kinds", nargs="+", default=["gaussian", "decay"])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sections", nargs="+", default=["svd", "kmeans", "omp", "dictlearn"])
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.anchors))
    from matrices import rel_err, test_matrix  # noqa: E402
    from sklearn.cluster import KMeans
    from sklearn.decomposition import DictionaryLearning, MiniBatchDictionaryLearning
    from sklearn.linear_model import orthogonal_mp
    from sklearn.utils.extmath import randomized_svd
    warnings.simplefilter("ignore")

    work = tempfile.mkdtemp(prefix="compare_factorizers_")
    rows = []

    def compare(name, kind, m, our_args, theirs_fn, check=None):
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
        o, t = statistics.median(ot), statistics.median(tt)
        rows.append((name, kind, m, o, t, t / o, oe, te, extra))
        print(f"# {name} {kind} {m}: ours {o:.4f}s theirs {t:.4f}s ({t / o:.1f}x) err {oe:.4f} vs {te:.4f} {extra}",
              file=sys.stderr, flush=True)

    for m in args.sizes:
        for kind in args.kinds:
            A = test_matrix(kind, m)
            a_path = os.path.join(work, f"A_{kind}_{m}.npy")
            np.save(a_path, A)
            k = m // 8
            if "svd" in args.sections:
                def np_svd():
                    U, s, Vt = np.linalg.svd(A, full_matrices=False)
                    return {"rel_error": rel_err(A, (U[:, :k] * s[:k]) @ Vt[:k])}
                compare(f"truncated SVD k={k} (full) vs numpy.linalg.svd", kind, m,
                        ["--input", a_path, "--method", "lowrank", "--rank", str(k), "--solver", "full"], np_svd)

                def sk_rsvd():
                    U, s, Vt = randomized_svd(A, k, random_state=0)
                    return {"rel_error": rel_err(A, (U * s) @ Vt)}
                compare(f"randomized SVD k={k} vs sklearn randomized_svd", kind, m,
                        ["--input", a_path, "--method", "lowrank", "--rank", str(k), "--solver", "randomized"], sk_rsvd)
            if "kmeans" in args.sections:
                for K in (16, 256):
                    def sk_km(K=K):
                        km = KMeans(n_clusters=K, n_init=1, random_state=0).fit(A.reshape(-1, 1))
                        return {"rel_error": rel_err(A, km.cluster_centers_[km.labels_].reshape(A.shape))}
                    compare(f"scalar k-means K={K} vs KMeans(n_init=1)", kind, m,
                            ["--input", a_path, "--method", "kmeans", "--levels", str(K), "--no-zero-centroid"], sk_km)
            if "omp" in args.sections:
                # The anchor's problem: the m columns of A against a random unit-norm m x 2m
                # dictionary. Ours codes rows, so it gets A^T and D^T (atoms as rows).
                rng = np.random.default_rng(1)
                D = rng.standard_normal((m, 2 * m)).astype(np.float32)
                D /= np.linalg.norm(D, axis=0, keepdims=True)
                at_path = os.path.join(work, f"At_{kind}_{m}.npy")
                dt_path = os.path.join(work, f"Dt_{m}.npy")
                np.save(at_path, np.ascontiguousarray(A.T))
                np.save(dt_path, np.ascontiguousarray(D.T))
                prefix = os.path.join(work, f"omp_{kind}_{m}")

                def sk_omp():
                    C = orthogonal_mp(D, A, n_nonzero_coefs=8)
                    return {"rel_error": rel_err(A, D.astype(np.float64) @ C), "C": C}

                def same_support(res):
                    idx = np.load(prefix + ".indices.npy")
                    ours_sets = [set(int(i) for i in r if i >= 0) for r in idx]
                    theirs_sets = [set(np.flatnonzero(res["C"][:, j]).tolist()) for j in range(A.shape[1])]
                    agree = sum(o == t for o, t in zip(ours_sets, theirs_sets))
                    return f"supports agree {agree}/{len(ours_sets)}"
                compare("OMP 8 nonzeros, 2m atoms vs orthogonal_mp", kind, m,
                        ["--input", at_path, "--method", "omp", "--dictionary", dt_path, "--nnz", "8",
                         "--codes", "sparse", "--output", prefix], sk_omp, same_support)
            if "dictlearn" in args.sections:
                nc = min(256, m // 2)
                # Ours at 1 round (one dictionary update between two codings) and at 10.
                for (cls, label, extra), iters in [(c, i) for c in (
                        (DictionaryLearning, "DictionaryLearning", {}),
                        (MiniBatchDictionaryLearning, "MiniBatchDictionaryLearning", {"batch_size": 256}))
                        for i in (1, 10)]:
                    def sk_dl(cls=cls, extra=extra):
                        est = cls(n_components=nc, alpha=1.0, max_iter=10, fit_algorithm="cd",
                                  transform_algorithm="omp", transform_n_nonzero_coefs=8, random_state=0, **extra)
                        C = est.fit(A).transform(A)
                        return {"rel_error": rel_err(A, C.astype(np.float64) @ est.components_.astype(np.float64))}
                    compare(f"dictionary learning {nc} atoms, 8 nnz, ours {iters} iters vs {label} (10 iters, fit+transform)", kind, m,
                            ["--input", a_path, "--method", "dictionary", "--atoms", str(nc), "--nnz", "8",
                             "--iters", str(iters)], sk_dl)

    print("| comparison | matrix | m | ours (s) | theirs (s) | speed-up | rel. error ours | rel. error theirs | note |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, kind, m, o, t, r, oe, te, extra in rows:
        print(f"| {name} | {kind} | {m} | {o:.4f} | {t:.4f} | {r:.1f}x | {oe:.4f} | {te:.4f} | {extra} |")


if __name__ == "__main__":
    main()
