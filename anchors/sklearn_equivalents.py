"""What numpy / scikit-learn run for the same work as one of our methods, given its settings.

equivalents(method, settings) lists (library, fit, approx): fit(A) is the library call that
is timed; approx(fitted, A) rebuilds the approximation of A from its result (not timed), so
rel_err(A, approx(...)) is theirs to set beside ours. Methods without a scikit-learn
counterpart (simhash, prune, quantize) get an empty list.

  lowrank     rank k: numpy.linalg.svd truncated to k (the exact solver, as ours for these
              shapes) and sklearn.utils.extmath.randomized_svd (what TruncatedSVD runs)
  kmeans      levels L, block b: KMeans(n_clusters=L, n_init=1) on the blocks of b entries
              (scalar k-means for b = 1); ours also pins the centroid nearest 0 to exactly 0
  dictionary  atoms K, nnz t: MiniBatchDictionaryLearning and DictionaryLearning with K
              components, fit then an OMP transform with t nonzeros (fit + transform timed),
              10 iterations as ours runs 10 rounds
"""
import warnings

import numpy as np


def _lowrank(settings):
    from sklearn.utils.extmath import randomized_svd
    k = int(settings["rank"])

    def exact(a):
        return np.linalg.svd(a, full_matrices=False)

    def rsvd(a):
        return randomized_svd(a, k, random_state=0)

    def product(f, _a):
        u, s, vt = f
        return (u[:, :k] * s[:k]) @ vt[:k]
    return [("numpy.linalg.svd", exact, product), ("sklearn randomized_svd", rsvd, product)]


def _kmeans(settings):
    from sklearn.cluster import KMeans
    levels, block = int(settings["levels"]), int(settings.get("block", 1))

    def fit(a):
        return KMeans(n_clusters=levels, n_init=1, random_state=0).fit(a.reshape(-1, block))

    def product(km, a):
        return km.cluster_centers_[km.labels_].reshape(a.shape)
    name = "sklearn KMeans(n_init=1)" + ("" if block == 1 else f" on blocks of {block}")
    return [(name, fit, product)]


def _dictionary(settings):
    from sklearn.decomposition import DictionaryLearning, MiniBatchDictionaryLearning
    atoms, nnz = int(settings["atoms"]), int(settings["nnz"])
    common = dict(n_components=atoms, alpha=1.0, max_iter=10, transform_algorithm="omp",
                  transform_n_nonzero_coefs=nnz, random_state=0)

    def fitter(cls, extra):
        def fit(a):
            est = cls(**common, **extra)
            codes = est.fit(a).transform(a)
            return codes, est.components_
        return fit

    def product(f, _a):
        codes, components = f
        return codes.astype(np.float64) @ components.astype(np.float64)
    return [("sklearn MiniBatchDictionaryLearning", fitter(MiniBatchDictionaryLearning, {"batch_size": 256}), product),
            ("sklearn DictionaryLearning", fitter(DictionaryLearning, {"fit_algorithm": "cd"}), product)]


_BY_METHOD = {"lowrank": _lowrank, "kmeans": _kmeans, "dictionary": _dictionary}


def equivalents(method, settings):
    """[(library, fit, approx)] for our `method` with `settings` (empty when sklearn has none)."""
    make = _BY_METHOD.get(method)
    if make is None:
        return []
    warnings.simplefilter("ignore")  # convergence chatter from short max_iter runs
    return make(settings)
