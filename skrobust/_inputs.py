"""Checks of the data the estimators receive, beyond scikit-learn's
``validate_data``: values within float32's range (the precision skrobust
trains in), sparse ``X`` densified within a memory budget, and
``sample_weight``."""

from __future__ import annotations

import numpy as np
from scipy import sparse

FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_float32_range(X):
    values = X.data if sparse.issparse(X) else X
    if values.size and np.max(np.abs(values)) > FLOAT32_MAX:
        raise ValueError(
            "Input X contains values too large for float32 (the precision "
            "skrobust trains in); rescale the features, e.g. with "
            "StandardScaler."
        )


#: Largest dense copy, in bytes of float32, that a fit makes of sparse ``X``
#: (2 GiB). The compiled training loops index the rows of one dense array, so
#: sparse input is densified whole for training; prediction densifies a block
#: of rows at a time. Beyond this, densify ``X`` yourself (``X.toarray()``) or
#: encode fewer columns.
SPARSE_DENSIFY_BUDGET = 2 * 1024**3


def dense_rows_in_budget(n_features):
    return max(1, SPARSE_DENSIFY_BUDGET // (4 * max(1, n_features)))


def densify(X):
    """Sparse ``X`` as a new dense float32 array (dense ``X`` unchanged);
    a ValueError names the budget when the dense copy would exceed it."""
    if not sparse.issparse(X):
        return X
    n, d = X.shape
    need = n * d * 4
    if need > SPARSE_DENSIFY_BUDGET:
        raise ValueError(
            f"Sparse X of shape {X.shape} needs {_gib(need)} as a dense float32 "
            f"array, beyond skrobust's budget of {_gib(SPARSE_DENSIFY_BUDGET)} "
            "for densifying sparse input (the training loop works on dense "
            "arrays). Encode fewer columns (e.g. OneHotEncoder(min_frequency=...) "
            "or max_categories=...) or pass a dense array."
        )
    return X.astype(np.float32).toarray()


def _gib(n_bytes):
    return f"{n_bytes / 1024**3:.2f} GiB"


def check_sample_weight(sample_weight, n_samples):
    if sample_weight is None:
        return np.ones(n_samples, dtype=np.float32)
    if np.isscalar(sample_weight):
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float64)
    w = np.asarray(sample_weight)
    if w.dtype.kind == "c":
        raise ValueError("Complex data not supported in sample_weight.")
    if w.dtype.kind not in "biuf":
        try:
            w = w.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"sample_weight must be an array of numbers; got dtype {w.dtype}."
            ) from None
    w = w.astype(np.float64)
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(f"sample_weight.shape == {w.shape}, expected ({n_samples},)!")
    if not np.all(np.isfinite(w)):
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if np.any(w < 0):
        raise ValueError("Negative values in data passed to sample_weight.")
    if np.any(w > FLOAT32_MAX):
        raise ValueError(
            "sample_weight contains values too large for float32 (the precision "
            "skrobust trains in)."
        )
    return w.astype(np.float32)
