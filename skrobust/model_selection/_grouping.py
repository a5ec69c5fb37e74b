"""Which members can train batched, and which run each one joins.

A candidate can batch when its final estimator is a skrobust MLP trained
without a validation split (``_batch_plan``). Each of its
(candidate, split) members then gets the plain fit's plan (``_prepare_member``)
and two keys: ``group``, the network structure and training configuration
that one compiled loop needs, and ``flags``, the random operations it
switches on. Within a group, members join the run of a flag set that covers
theirs (``_assign_flags``), so fewer programs compile.
"""

from __future__ import annotations

import copy
import dataclasses

from sklearn.base import clone
from sklearn.pipeline import Pipeline

from skrobust._base import BaseNoisyMLP
from skrobust._knobs import TRAINING_SWITCHES
from skrobust._plan import FitPlan, plan_fit
from skrobust._spec import inference_spec
from skrobust._validation import validate_params


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
        cfg.convergence,
        cfg.patience,
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


def _fitted(m):
    """The member's fitted estimator: its trained final estimator, or the
    candidate's pipeline with the fold's fitted prefix before it."""
    if m.pipeline is None:
        return m.final
    fitted = copy.copy(m.pipeline)
    steps = list(m.prefix.steps) if m.prefix is not None else []
    fitted.steps = steps + [(m.pipeline.steps[-1][0], m.final)]
    return fitted
