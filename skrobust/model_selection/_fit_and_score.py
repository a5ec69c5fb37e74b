"""Fit and score one (candidate, split) member the ordinary way.

The helpers every path of :func:`~skrobust.model_selection._batched.evaluate`
shares: rows of a split (``take``, ``split_fit_params``), scores as a dict
(``score``), one member's plain fit (clone, set parameters, fit, score) and
the warning ``GridSearchCV`` gives when some fits fail.
"""

from __future__ import annotations

import numbers
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning


def take(X, idx):
    """Rows ``idx`` of an array, DataFrame, Series or list."""
    if X is None:
        return None
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    if hasattr(X, "shape"):
        return X[idx]
    return [X[i] for i in idx]


def _n_samples(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def split_fit_params(fit_params, X, idx):
    """Fit parameters restricted to rows ``idx`` (those with one entry per
    sample; anything else passes through)."""
    n = _n_samples(X)
    out = {}
    for k, v in fit_params.items():
        if (
            v is not None
            and not np.isscalar(v)
            and hasattr(v, "__len__")
            and len(v) == n
        ):
            out[k] = take(
                v if hasattr(v, "shape") or hasattr(v, "iloc") else np.asarray(v), idx
            )
        else:
            out[k] = v
    return out


def score(scorer, estimator, X, y, error_score, multimetric):
    """Scores as a dict (``{"score": s}`` for a single metric)."""
    try:
        s = scorer(estimator, X, y)
    except Exception:
        if isinstance(error_score, str) and error_score == "raise":
            raise
        warnings.warn(
            "Scoring failed. The score on this train-test partition for these "
            f"parameters will be set to {error_score}.",
            UserWarning,
            stacklevel=3,
        )
        return None
    if isinstance(s, dict):
        return {
            k: float(v) if isinstance(v, numbers.Number) else v for k, v in s.items()
        }
    if multimetric:
        return s
    return {"score": float(s) if isinstance(s, numbers.Number) else s}


def _new_result():
    return {
        "fit_time": 0.0,
        "score_time": 0.0,
        "test": None,
        "train": None,
        "estimator": None,
        "fit_error": None,
        "batched": False,
    }


def _plain_member(
    estimator,
    params,
    X,
    y,
    train,
    test,
    fit_params,
    scorer,
    multimetric,
    return_train_score,
    return_estimator,
    error_score,
):
    res = _new_result()
    est = clone(estimator).set_params(**clone(params, safe=False))
    X_train, y_train = take(X, train), take(y, train)
    start = time.perf_counter()
    try:
        est.fit(X_train, y_train, **split_fit_params(fit_params, X, train))
    except Exception as exc:
        if isinstance(error_score, str) and error_score == "raise":
            raise
        res["fit_time"] = time.perf_counter() - start
        res["fit_error"] = f"{type(exc).__name__}: {exc}"
        return res
    res["fit_time"] = time.perf_counter() - start
    _score_member(
        res,
        est,
        X,
        y,
        train,
        test,
        scorer,
        multimetric,
        return_train_score,
        error_score,
    )
    if return_estimator:
        res["estimator"] = est
    return res


def _score_member(
    res, fitted, X, y, train, test, scorer, multimetric, return_train_score, error_score
):
    start = time.perf_counter()
    res["test"] = score(
        scorer, fitted, take(X, test), take(y, test), error_score, multimetric
    )
    res["score_time"] = time.perf_counter() - start
    if return_train_score:
        res["train"] = score(
            scorer, fitted, take(X, train), take(y, train), error_score, multimetric
        )


def _warn_failures(results, error_score):
    errors = [r["fit_error"] for row in results for r in row if r["fit_error"]]
    n = sum(len(row) for row in results)
    if not errors:
        return
    if len(errors) == n:
        raise ValueError(
            f"All the {n} fits failed. It is very likely that your model is "
            f"misconfigured. The first error: {errors[0]}"
        )
    warnings.warn(
        f"{len(errors)} fits failed out of a total of {n}. The score on these "
        f"train-test partitions for these parameters will be set to "
        f"{error_score}. The first error: {errors[0]}",
        FitFailedWarning,
        stacklevel=3,
    )
