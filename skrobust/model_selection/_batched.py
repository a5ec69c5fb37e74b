"""Evaluate (candidate, split) members: batched where possible, else plain fits.

Both :class:`~skrobust.model_selection.BatchedGridSearchCV` and
:func:`~skrobust.model_selection.batched_cross_validate` hand this module a
list of candidate parameter settings and a list of (train, test) splits. Each
pair is a *member*. Members whose final estimator is a skrobust MLP trained
without a validation split are grouped by network structure and training
configuration and trained together by ``skrobust.engine._jax_batched``, in
runs that a joblib pool of ``n_jobs`` workers shares with the plain fits;
every other member is fitted the ordinary way (clone, set parameters, fit),
so results are correct whatever the estimator.

A member whose estimator is a seed ensemble (``n_members=k``) contributes
its k networks to the run (each with the initial weights, seed and bootstrap
weights of the plain fit's plan) and gets them back as one fitted ensemble.

This module holds the driver, :func:`evaluate`, and its :class:`Report`; the
pieces it drives live in ``_fit_and_score`` (the plain path and scoring),
``_grouping`` (which members batch and which run each joins) and
``_training_runs`` (the batched runs: planned here, trained in workers).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.base import clone

from skrobust.model_selection._fit_and_score import (
    _new_result,
    _plain_member,
    _score_member,
    _warn_failures,
    split_fit_params,
    take,
)
from skrobust.model_selection._grouping import _batch_plan, _fitted, _prepare_member
from skrobust.model_selection._training_runs import apply_runs, plan_runs, train_run


@dataclasses.dataclass
class Report:
    """What a batched evaluation did (for ``verbose`` and ``batch_info_``)."""

    n_members: int = 0
    n_batched: int = 0
    n_fallback: int = 0
    n_runs: int = 0
    fallback_reasons: dict = dataclasses.field(default_factory=dict)

    def as_dict(self):
        return dataclasses.asdict(self)


def _freeze(value):
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def evaluate(
    estimator,
    candidates,
    X,
    y,
    splits,
    scorer,
    *,
    multimetric=False,
    fit_params=None,
    return_train_score=False,
    return_estimator=False,
    error_score=np.nan,
    memory_budget=None,
    max_members=None,
    n_jobs=None,
    verbose=0,
):
    """Fit and score every (candidate, split) member.

    Returns ``(results, report)``: ``results[c][s]`` is a dict with
    ``fit_time``, ``score_time``, ``test`` and ``train`` (dicts of scores, or
    None when fitting or scoring failed), ``estimator`` (when asked),
    ``fit_error`` and ``batched``.
    """
    fit_params = dict(fit_params or {})
    if sparse.issparse(X):
        # Rows of COO and other formats cannot be taken; CSR's can. A new
        # matrix (or X itself when already CSR): the caller's is not changed.
        X = X.tocsr()
    report = Report(n_members=len(candidates) * len(splits))
    results = [[None] * len(splits) for _ in candidates]
    plain: list = []
    members: list = []
    prefixes: dict = {}
    for c, params in enumerate(candidates):
        est_c = clone(estimator).set_params(**clone(params, safe=False))
        plan = _batch_plan(est_c, fit_params)
        if isinstance(plan, str):
            report.fallback_reasons[plan] = report.fallback_reasons.get(plan, 0) + len(
                splits
            )
            plain.extend((c, s) for s in range(len(splits)))
            continue
        final_c, name, sw_key = plan
        prefix_key = None
        if name is not None:
            prefix_key = tuple(
                sorted(
                    (k, _freeze(v))
                    for k, v in params.items()
                    if k != name and not k.startswith(name + "__")
                )
            )
        for s, (train, _test) in enumerate(splits):
            try:
                X_train, y_train = take(X, train), take(y, train)
                fp = split_fit_params(fit_params, X, train)
                prefix, pre_time = None, 0.0
                if name is not None and len(est_c.steps) > 1:
                    key = (prefix_key, s)
                    if key not in prefixes:
                        t0 = time.perf_counter()
                        pre = clone(est_c[:-1])
                        Xt = pre.fit_transform(X_train, y_train)
                        prefixes[key] = (pre, Xt, time.perf_counter() - t0)
                    # Each member reports its prefix's fit time, as a plain
                    # pipeline fit would.
                    prefix, X_train, pre_time = prefixes[key]
                start = time.perf_counter()
                member = _prepare_member(
                    c, s, est_c, final_c, name, sw_key, X_train, y_train, fp, prefix
                )
                member.prep_time = time.perf_counter() - start + pre_time
                members.append(member)
            except Exception:
                # The plain fit reproduces the error (or the error_score).
                reason = "data the plain fit must judge (validation failed)"
                report.fallback_reasons[reason] = (
                    report.fallback_reasons.get(reason, 0) + 1
                )
                plain.append((c, s))
    report.n_batched = len(members)
    report.n_fallback = len(plain)
    runs = plan_runs(members, memory_budget, max_members, verbose) if members else []
    report.n_runs = len(runs)
    if plain and verbose:
        print(
            f"[batched] {len(plain)} ordinary fits: {report.fallback_reasons}",
            flush=True,
        )
    # One pool for the batched runs and the plain fits, the runs first (they
    # are the long tasks), so no worker waits while another has work.
    tasks = [delayed(train_run)(*run.arguments(memory_budget)) for run in runs]
    tasks += [
        delayed(_plain_member)(
            estimator,
            candidates[c],
            X,
            y,
            *splits[s],
            fit_params,
            scorer,
            multimetric,
            return_train_score,
            return_estimator,
            error_score,
        )
        for c, s in plain
    ]
    out = Parallel(n_jobs=n_jobs)(tasks) if tasks else []
    apply_runs(members, runs, out[: len(runs)])
    for m in members:
        res = _new_result()
        res["batched"] = True
        res["fit_time"] = m.prep_time
        train, test = splits[m.split]
        fitted = _fitted(m)
        _score_member(
            res,
            fitted,
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
            res["estimator"] = fitted
        results[m.cand][m.split] = res
    for (c, s), res in zip(plain, out[len(runs) :], strict=True):
        results[c][s] = res
    _warn_failures(results, error_score)
    return results, report
