"""Test matrices and the error measure shared by the comparison scripts.

Both kinds are float32 and scaled so the mean squared entry is 1 (||A||_F^2 = m n):
  gaussian  independent N(0, 1) entries: a flat spectrum, the hardest case for any compressor;
  decay     U diag(1, 1/2, 1/3, ...) V^T with random orthonormal U, V: a spectrum that falls
            like a trained layer's.
"""
import numpy as np


def test_matrix(kind, m, n=None, seed=0):
    n = m if n is None else n
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        a = rng.standard_normal((m, n))
    elif kind == "decay":
        r = min(m, n)
        u, _ = np.linalg.qr(rng.standard_normal((m, r)))
        v, _ = np.linalg.qr(rng.standard_normal((n, r)))
        a = (u / np.arange(1, r + 1)) @ v.T
    else:
        raise ValueError(f"unknown matrix kind {kind!r} (gaussian, decay)")
    a *= np.sqrt(m * n) / np.linalg.norm(a)
    return np.ascontiguousarray(a, dtype=np.float32)


def rel_err(a, approx):
    """||A - approx||_F / ||A||_F in float64."""
    a64 = np.asarray(a, dtype=np.float64)
    return float(np.linalg.norm(a64 - np.asarray(approx, dtype=np.float64)) / np.linalg.norm(a64))
