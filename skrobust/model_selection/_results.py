"""``cv_results_`` from the members' scores, in scikit-learn's layout.

Shared by :class:`~skrobust.model_selection.BatchedGridSearchCV` (the whole
``cv_results_`` dict, :func:`format_results`) and
:func:`~skrobust.model_selection.batched_cross_validate` (the score arrays,
:func:`score_array`): metric names, one array of scores per metric, ranks and
the ``param_<name>`` masked arrays.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.stats import rankdata


def is_multimetric(scoring) -> bool:
    return isinstance(scoring, list | tuple | set | dict)


def metric_names(scoring, results):
    """Score names: ``["score"]`` for one metric, else the metric names."""
    if isinstance(scoring, dict):
        return list(scoring)
    if isinstance(scoring, list | tuple | set):
        return list(scoring)
    for row in results:
        for r in row:
            if r["test"] is not None:
                return list(r["test"])
    return ["score"]


def score_array(results, names, which, error_score):
    """``{name: array (n_candidates, n_splits)}`` with ``error_score`` where a
    fit or a score failed."""
    n_c, n_s = len(results), len(results[0]) if results else 0
    out = {n: np.full((n_c, n_s), np.nan, dtype=np.float64) for n in names}
    fill = error_score if isinstance(error_score, numbers.Number) else np.nan
    for c, row in enumerate(results):
        for s, r in enumerate(row):
            scores = r[which]
            for n in names:
                out[n][c, s] = fill if scores is None else scores.get(n, fill)
    return out


def _rank(means):
    if np.isnan(means).all():
        return np.ones_like(means, dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-filled, method="min").astype(np.int32)


def _param_arrays(candidates):
    names = sorted({k for p in candidates for k in p})
    out = {}
    for name in names:
        present = [name in p for p in candidates]
        values = [p.get(name) for p in candidates]
        kept = [v for v, ok in zip(values, present, strict=True) if ok]
        numeric = all(
            isinstance(v, numbers.Number) and not isinstance(v, bool) for v in kept
        )
        if numeric:
            data = np.array(
                [v if ok else 0 for v, ok in zip(values, present, strict=True)]
            )
        else:
            data = np.empty(len(values), dtype=object)
            data[:] = values
        out[f"param_{name}"] = np.ma.MaskedArray(data, mask=[not ok for ok in present])
    return out


def format_results(candidates, results, names, error_score, return_train_score):
    """``cv_results_`` in scikit-learn's layout."""
    n_s = len(results[0])
    out: dict = {}
    for key in ("fit_time", "score_time"):
        a = np.array([[r[key] for r in row] for row in results])
        out[f"mean_{key}"] = a.mean(axis=1)
        out[f"std_{key}"] = a.std(axis=1)
    out.update(_param_arrays(candidates))
    out["params"] = candidates
    test = score_array(results, names, "test", error_score)
    train = (
        score_array(results, names, "train", error_score) if return_train_score else {}
    )
    for n in names:
        for s in range(n_s):
            out[f"split{s}_test_{n}"] = test[n][:, s]
        out[f"mean_test_{n}"] = test[n].mean(axis=1)
        out[f"std_test_{n}"] = test[n].std(axis=1)
        out[f"rank_test_{n}"] = _rank(out[f"mean_test_{n}"])
        if return_train_score:
            for s in range(n_s):
                out[f"split{s}_train_{n}"] = train[n][:, s]
            out[f"mean_train_{n}"] = train[n].mean(axis=1)
            out[f"std_train_{n}"] = train[n].std(axis=1)
    return out


def check_refit(scoring, refit):
    """With several metrics, ``refit`` must name one of them (or be a
    callable, or False); scikit-learn's error otherwise."""
    if (
        is_multimetric(scoring)
        and refit is not False
        and not (callable(refit) or refit in scoring)
    ):
        raise ValueError(
            "For multi-metric scoring, the parameter refit must be set to a "
            "scorer key or a callable to refit an estimator with the best "
            "parameter setting on the whole data and make the best_* "
            f"attributes available for that metric. {refit!r} was passed."
        )
