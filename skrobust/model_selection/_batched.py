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
import os
import time
import warnings

import numpy as np
from scipy import sparse
from sklearn.base import clone

from skrobust.model_selection._checkpoint import Checkpoint, part_key
from skrobust.model_selection._dispatch import Part, run_parts
from skrobust.model_selection._fit_and_score import (
    _new_result,
    _plain_member,
    _score_member,
    _warn_failures,
    split_fit_params,
    take,
)
from skrobust.model_selection._grouping import _batch_plan, _fitted, _prepare_member
from skrobust.model_selection._training_runs import (
    apply_runs,
    default_memory_budget,
    plan_runs,
    train_run,
)


@dataclasses.dataclass
class Report:
    """What a batched evaluation did (for ``verbose`` and ``batch_info_``)."""

    n_members: int = 0
    n_batched: int = 0
    n_fallback: int = 0
    n_runs: int = 0
    fallback_reasons: dict = dataclasses.field(default_factory=dict)
    # Bytes a batched run was planned to use (the measured default when
    # memory_budget is None).
    memory_budget: int = 0
    # Batched runs split in halves after running out of memory.
    n_runs_split: int = 0
    # Parts (batched runs and plain fits) read from the checkpoint.
    n_restored: int = 0

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
    checkpoint=None,
):
    """Fit and score every (candidate, split) member.

    ``checkpoint`` (a folder, or None) keeps each finished batched run and
    plain fit, and a later call with the same folder reuses those whose
    inputs are unchanged (``_checkpoint``).

    Returns ``(results, report)``: ``results[c][s]`` is a dict with
    ``fit_time``, ``score_time``, ``test`` and ``train`` (dicts of scores, or
    None when fitting or scoring failed), ``estimator`` (when asked),
    ``fit_error`` and ``batched``.
    """
    fit_params = dict(fit_params or {})
    store = None if checkpoint is None else Checkpoint(checkpoint)
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
    if memory_budget is None:
        memory_budget = (
            default_memory_budget()
            if store is None
            else store.memory_budget(default_memory_budget)
        )
    report.memory_budget = int(memory_budget)
    runs = plan_runs(members, memory_budget, max_members, verbose) if members else []
    report.n_runs = len(runs)
    if plain and verbose:
        print(
            f"[batched] {len(plain)} ordinary fits: {report.fallback_reasons}",
            flush=True,
        )
    # One pool for the batched runs and the plain fits, the runs first (they
    # are the long tasks), so no worker waits while another has work.
    parts = []
    # The data of the plain fits, fingerprinted once. A fitted estimator in
    # their results (return_estimator) cannot be stored without pickle.
    data_key = None
    if store is not None and plain and not return_estimator:
        data_key = part_key("data", X, y, fit_params)
    for run in runs:
        args = run.arguments(memory_budget)
        # The budget does not change a planned run's result (its size is
        # already within it): it stays out of the key.
        key = part_key("run", args[:-1]) if store is not None else None
        parts.append(Part(train_run, args, key))
    for c, s in plain:
        args = (
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
        key = None
        if data_key is not None:
            key = part_key(
                "fit",
                estimator,
                candidates[c],
                data_key,
                *splits[s],
                scorer,
                multimetric,
                return_train_score,
                error_score,
            )
        parts.append(Part(_plain_member, args, key))
    out, report.n_restored = run_parts(parts, n_jobs=n_jobs, checkpoint=store)
    if verbose and report.n_restored:
        print(
            f"[batched] {report.n_restored} of {len(parts)} parts read from the "
            f"checkpoint {os.fspath(checkpoint)}",
            flush=True,
        )
    report.n_runs_split = _warn_split_runs(out[: len(runs)])
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


def _warn_split_runs(outputs):
    """Warn once for the runs that ran out of memory and were split
    (``train_run``'s third output); their number."""
    split = [splits for _out, _seconds, splits in outputs if splits]
    if not split:
        return 0
    planned = max(n for splits in split for n, _ in splits)
    smallest = min(n for splits in split for n, _ in splits)
    warnings.warn(
        f"{len(split)} of {len(outputs)} batched runs ran out of memory "
        f"({split[0][0][1]}); each was split in halves and retried until its "
        f"parts fit (the smallest part that still failed held {smallest} "
        f"networks), so every member was trained. Their scores can differ "
        f"from those of a run of {planned} networks in the last float digits. "
        f"A smaller memory_budget or max_members plans smaller runs from the "
        f"start.",
        UserWarning,
        stacklevel=4,
    )
    return len(split)
