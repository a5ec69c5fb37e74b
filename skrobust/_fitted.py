"""What a fit keeps: a training result written into the estimator.

:func:`apply_result` writes an ``engine.TrainResult`` (one per member of an
ensemble) into the estimator and warns when training diverged or did not
converge; :func:`set_fitted_state` sets the fitted attributes from weights
and histories. A plain fit, every member of a batched search and
:func:`skrobust.load` go through :func:`set_fitted_state`, so their fitted
attributes cannot drift apart.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning


def apply_result(estimator, plan, result, *, stacklevel) -> None:
    """Write ``engine.TrainResult`` ``result`` of training ``plan`` into the
    estimator (a list of them, one per member, for an ensemble); warn (at
    ``stacklevel`` from the caller) if training diverged or ran all its
    epochs without converging. A continued fit (``plan.continued``) extends
    the fitted history."""
    results = list(result) if isinstance(result, list | tuple) else [result]
    ensemble = isinstance(result, list | tuple)
    histories = [estimator._rename_history(r.history) for r in results]
    n_iters = [r.n_iter for r in results]
    best_epochs = [r.best_epoch for r in results]
    t_before = 0
    if plan.continued:
        previous = estimator.__dict__.get("members_history_") or [estimator.history_]
        previous_n = estimator.__dict__.get("members_n_iter_") or [estimator.n_iter_]
        histories = [
            {k: list(p.get(k, [])) + v for k, v in h.items()}
            for p, h in zip(previous, histories, strict=True)
        ]
        best_epochs = [
            None if b is None else b + n
            for b, n in zip(best_epochs, previous_n, strict=True)
        ]
        n_iters = [n + m for n, m in zip(n_iters, previous_n, strict=True)]
        t_before = getattr(estimator, "t_", 0)
    set_fitted_state(
        estimator,
        plan.spec,
        [r.weights for r in results] if ensemble else results[0].weights,
        histories if ensemble else histories[0],
        n_iters if ensemble else n_iters[0],
        best_epochs if ensemble else best_epochs[0],
    )
    estimator._opt = [r.opt for r in results]
    estimator._step = [r.step for r in results]
    estimator._continuations = (
        getattr(estimator, "_continuations", 0) + 1 if plan.continued else 0
    )
    # scikit-learn's t_: training samples seen, counted per epoch.
    n_rows = int(np.sum(plan.data["mask"]))
    estimator.t_ = t_before + max(r.n_iter for r in results) * n_rows
    diverged = [i for i, r in enumerate(results) if r.diverged]
    if diverged:
        warn_diverged(
            estimator,
            [results[i].n_iter for i in diverged] if ensemble else results[0].n_iter,
            stacklevel=stacklevel + 1,
            members=diverged if ensemble else None,
        )
    stops = plan.cfg.convergence or plan.cfg.early_stopping
    if stops and any(
        not (r.converged or r.diverged) and r.n_iter == plan.epochs for r in results
    ):
        warnings.warn(
            f"{type(estimator).__name__}: the maximum number of epochs "
            f"({plan.epochs}) was reached and the optimization hasn't converged "
            f"yet. Raise epochs, or set tol=None to train a fixed number of "
            f"epochs without this warning.",
            ConvergenceWarning,
            stacklevel=stacklevel + 1,
        )


# scikit-learn's names of the output activations (``out_activation_``).
SKLEARN_OUTPUT_ACTIVATIONS = {
    "sigmoid": "logistic",
    "softmax": "softmax",
    "linear": "identity",
}

_MEMBER_ATTRIBUTES = ("members_history_", "members_n_iter_", "members_best_epoch_")


def set_fitted_state(estimator, spec, weights, history, n_iter, best_epoch) -> None:
    """The fitted attributes of a trained network (``history`` in the
    estimator's names: ``accuracy`` or ``r2`` for ``score``).

    For an ensemble, ``weights``, ``history``, ``n_iter`` and ``best_epoch``
    are lists with one entry per member: ``history_`` is then the members'
    mean per epoch, ``n_iter_`` the most epochs a member ran, and the
    members' own values are kept in ``members_history_``,
    ``members_n_iter_`` and (with early stopping) ``members_best_epoch_``.
    """
    for attr in _MEMBER_ATTRIBUTES:
        estimator.__dict__.pop(attr, None)
    if isinstance(weights, list):
        estimator.members_history_ = history
        estimator.members_n_iter_ = [int(n) for n in n_iter]
        if all(b is not None for b in best_epoch):
            estimator.members_best_epoch_ = [int(b) for b in best_epoch]
        history = mean_history(history)
        n_iter = max(estimator.members_n_iter_)
        best_epoch = None
    estimator._spec = spec
    estimator._weights = weights
    estimator.__dict__.pop("_model", None)
    estimator.history_ = history
    estimator.loss_curve_ = list(history["loss"])
    estimator.n_iter_ = n_iter
    estimator.n_outputs_ = spec.n_outputs
    estimator.out_activation_ = SKLEARN_OUTPUT_ACTIVATIONS[spec.output_activation]
    for attr in ("best_epoch_", "validation_scores_", "best_validation_score_"):
        estimator.__dict__.pop(attr, None)
    # scikit-learn's meanings: the best training loss, or with a
    # validation split the validation scores (accuracy / R^2) per epoch.
    estimator.best_loss_ = min(history["loss"]) if history["loss"] else None
    score_key = f"val_{estimator._score_name}"
    if score_key in history:
        estimator.validation_scores_ = list(history[score_key])
        estimator.best_validation_score_ = (
            history[score_key][best_epoch]
            if best_epoch is not None
            else max(history[score_key], default=None)
        )
    if best_epoch is not None:
        estimator.best_epoch_ = best_epoch
        # scikit-learn leaves best_loss_ None under early stopping.
        estimator.best_loss_ = None


def mean_history(histories: list) -> dict:
    """Per epoch, the mean over the members that ran that epoch."""
    out = {}
    for key in histories[0]:
        curves = [h[key] for h in histories]
        n = max(len(c) for c in curves)
        out[key] = [
            float(np.mean([c[e] for c in curves if e < len(c)])) for e in range(n)
        ]
    return out


def warn_diverged(estimator, n_iter, stacklevel, members=None):
    """``members``: the ensemble members that diverged (``n_iter`` then has
    one entry per member), or None for a single network."""
    what = f"Training of {type(estimator).__name__}"
    if members is not None:
        what = f"{what} (ensemble members {members})"
        n_iter = ", ".join(map(str, n_iter))
    warnings.warn(
        f"{what} diverged (non-finite loss or "
        f"weights); training stopped and the weights after epoch {n_iter}, the "
        f"last known to give finite losses, were kept. Lower learning_rate or "
        f"rescale the inputs.",
        ConvergenceWarning,
        stacklevel=stacklevel + 1,
    )
