"""Evaluate (candidate, split) members: batched where possible, else plain fits.

Both :class:`~skrobust.model_selection.BatchedGridSearchCV` and
:func:`~skrobust.model_selection.batched_cross_validate` hand this module a
list of candidate parameter settings and a list of (train, test) splits. Each
pair is a *member*. Members whose final estimator is a skrobust MLP trained
without a validation split are grouped by network structure and training
configuration and trained together by ``skrobust.engine._jax_batched`` (JAX
backend only); every other member is fitted the ordinary way (clone, set
parameters, fit), so results are correct whatever the estimator.

A member whose estimator is a seed ensemble (``n_members=k``) contributes
its k networks to the run (each with the initial weights, seed and bootstrap
weights of the plain fit's plan) and gets them back as one fitted ensemble.
"""

from __future__ import annotations

import copy
import dataclasses
import numbers
import time
import warnings

import keras
import numpy as np
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.pipeline import Pipeline

from skrobust import engine
from skrobust._knobs import TRAINING_SWITCHES
from skrobust._mlp import BaseNoisyMLP
from skrobust._network import inference_spec
from skrobust._plan import FitPlan, apply_result, plan_fit
from skrobust._validation import validate_params


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


# -- small helpers ------------------------------------------------------------


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


def _freeze(value):
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


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


# -- the plain path -------------------------------------------------------------


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


# -- the batched path -------------------------------------------------------------


@dataclasses.dataclass
class _Member:
    cand: int
    split: int
    final: object  # the member's (unfitted, then fitted) skrobust estimator
    pipeline: object  # the candidate's pipeline, or None
    prefix: object  # the fold's fitted pipeline prefix, or None
    prep_time: float
    plan: FitPlan  # what the member's plain fit would train
    flags: tuple
    group: tuple


def _batch_plan(est, fit_params):
    """(final estimator, final step name or None, sample-weight key) when the
    candidate can join a batched run, else a reason string."""
    if keras.backend.backend() != "jax":
        return f"the {keras.backend.backend()!r} Keras backend (batching needs JAX)"
    name = None
    final = est
    if isinstance(est, Pipeline):
        name, final = est.steps[-1]
    if not isinstance(final, BaseNoisyMLP):
        return f"final estimator {type(final).__name__} is not a skrobust MLP"
    if final.validation_fraction is not None or final.early_stopping:
        return "validation_fraction / early_stopping"
    if getattr(final, "class_weight", None) is not None:
        return "class_weight"
    sw_key = "sample_weight" if name is None else f"{name}__sample_weight"
    if set(fit_params) - {sw_key}:
        return f"fit parameters {sorted(set(fit_params) - {sw_key})}"
    try:
        validate_params(final)
    except Exception as exc:
        return f"invalid parameters ({type(exc).__name__})"
    return final, name, sw_key


def _prepare_member(
    cand,
    split,
    est_c,
    final_c,
    name,
    sw_key,
    X_train,
    y_train,
    fit_params_train,
    prefix,
):
    final = clone(final_c)
    # The plain fit's plan (it raises as the plain fit would; the caller then
    # falls back to the plain fit, which records the error the way
    # GridSearchCV does).
    plan = plan_fit(final, X_train, y_train, fit_params_train.get(sw_key))
    spec, cfg = plan.spec, plan.cfg
    flags = (
        spec.noise_sites,
        spec.noise_type if spec.noise_sites else None,
        tuple(getattr(spec, f) for f in _SWITCHES),
    )
    group = (
        inference_spec(spec),
        cfg.optimizer,
        cfg.batch_size,
        cfg.shuffle,
        plan.epochs,
    )
    return _Member(
        cand=cand,
        split=split,
        final=final,
        pipeline=est_c if name is not None else None,
        prefix=prefix,
        prep_time=0.0,
        plan=plan,
        flags=flags,
        group=group,
    )


# Spec flags that switch a random operation on. A member without one can join
# a run that has it: its zero rate multiplies the shared draw by zero, which
# is exactly the plain fit without the operation.
_SWITCHES = tuple(TRAINING_SWITCHES)


def _covers(big, small):
    sites_big, type_big, on_big = big
    sites_small, type_small, on_small = small
    return (
        (not sites_small or set(sites_small) == set(sites_big))
        and (type_small is None or type_small == type_big)
        and all(b >= s for b, s in zip(on_big, on_small, strict=True))
    )


def _assign_flags(members):
    """Members join the run of a member set that ``_covers`` them: members
    without noise layers join any run, members with noise layers only a run
    with the same layers (``noise_std`` acts at every noise layer of the run),
    and switched-off kinds of ``_SWITCHES`` join runs that have them on."""
    counts: dict = {}
    for m in members:
        counts[m.flags] = counts.get(m.flags, 0) + 1
    order = sorted(counts, key=lambda f: (-(len(f[0]) + sum(f[2])), -counts[f]))
    target: dict = {}
    for f in order:
        bigger = [g for g in target if target[g] == g and g != f and _covers(g, f)]
        target[f] = max(bigger, key=lambda g: counts[g]) if bigger else f
    return target


def _networks(members):
    """One (member, network) pair per network to train: an ensemble
    candidate (``n_members=k``) contributes its k networks."""
    return [(m, net) for m in members for net in m.plan.members]


def _stack_group(members):
    """The networks' plain-fit arrays stacked (each padded with masked rows
    to the widest member) and their hyperparameters; ``members`` as
    :func:`_networks` returns them."""
    n_max = max(m.plan.data["X"].shape[0] for m, _ in members)
    M = len(members)
    first = members[0][0].plan.data
    X = np.zeros((M, n_max, first["X"].shape[1]), np.float32)
    y = np.zeros((M, n_max, *first["y"].shape[1:]), first["y"].dtype)
    w = np.zeros((M, n_max), np.float32)
    mask = np.zeros((M, n_max), np.float32)
    y_ss = np.zeros(M, np.float32)
    for i, (m, net) in enumerate(members):
        d = net.data(m.plan.data)
        n = d["X"].shape[0]
        X[i, :n] = d["X"]
        y[i, :n] = d["y"]
        w[i, :n] = d["w"]
        mask[i, :n] = d["mask"]
        y_ss[i] = d["y_ss"]
    data = {"X": X, "y": y, "w": w, "mask": mask, "y_ss": y_ss}
    hyper = {
        k: np.stack([m.plan.hyper[k] for m, _ in members])
        for k in members[0][0].plan.hyper
    }
    return data, hyper, n_max


def _train_runs(members, memory_budget, max_members, verbose):
    from skrobust.engine import _jax_batched

    groups: dict = {}
    for m in members:
        groups.setdefault(m.group, []).append(m)
    n_runs = 0
    for key, group in groups.items():
        base, optimizer, eff_bs, shuffle, epochs = key
        target = _assign_flags(group)
        sub: dict = {}
        for m in group:
            sub.setdefault(target[m.flags], []).append(m)
        for flags, ms in sub.items():
            n_runs += 1
            sites, noise_type, on = flags
            spec = dataclasses.replace(
                base,
                noise_sites=sites,
                noise_type=noise_type or "additive",
                **dict(zip(_SWITCHES, on, strict=True)),
            )
            nets = _networks(ms)
            data, hyper, n_max = _stack_group(nets)
            cfg = engine.make_config(
                optimizer=optimizer,
                batch_size=eff_bs,
                n_train=n_max,
                shuffle=shuffle,
                has_val=False,
                early_stopping=False,
                patience=10,
                epochs=epochs,
            )
            if verbose:
                print(
                    f"[batched] training {len(nets)} networks together: "
                    f"{spec.hidden_layer_sizes} units, noise at {spec.noise_sites}, "
                    f"{epochs} epochs",
                    flush=True,
                )
            start = time.perf_counter()
            out = _jax_batched.train_members(
                spec,
                cfg,
                [net.weights for _, net in nets],
                data,
                hyper,
                [net.seed for _, net in nets],
                epochs,
                memory_budget=memory_budget,
                max_members=max_members,
            )
            # Each candidate's fit time is its networks' share of the run.
            per_network = (time.perf_counter() - start) / len(nets)
            done = 0
            for m in ms:
                k = len(m.plan.members)
                result = out[done] if k == 1 else out[done : done + k]
                done += k
                apply_result(m.final, m.plan.spec, result, stacklevel=2)
                m.prep_time += per_network * k
    return n_runs


def _fitted(m):
    if m.pipeline is None:
        return m.final
    fitted = copy.copy(m.pipeline)
    steps = list(m.prefix.steps) if m.prefix is not None else []
    fitted.steps = steps + [(m.pipeline.steps[-1][0], m.final)]
    return fitted


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
    if members:
        report.n_runs = _train_runs(members, memory_budget, max_members, verbose)
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
    if plain:
        if verbose:
            print(
                f"[batched] {len(plain)} ordinary fits: {report.fallback_reasons}",
                flush=True,
            )
        out = Parallel(n_jobs=n_jobs)(
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
        )
        for (c, s), res in zip(plain, out, strict=True):
            results[c][s] = res
    _warn_failures(results, error_score)
    return results, report


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
