"""What a fit computes before training, and what it keeps afterwards.

:func:`plan_fit` turns an estimator's parameters and data into everything
training needs (network spec, compile-time configuration, arrays, engine
hyperparameters, initial weights, seeds); :func:`apply_result` writes a
training result into the estimator. A plain fit, every member of a batched
search and :func:`skrobust.load` (through :func:`set_fitted_state`) go
through these functions, so they cannot drift apart.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skrobust import engine
from skrobust._knobs import (
    DEFAULT_LEARNING_RATE,
    KNOB,
    KNOBS,
    NO_DECAY,
    NOISE_POSITIONS,
    SKLEARN_ACTIVATIONS,
)
from skrobust._network import NetworkSpec, init_weights
from skrobust._validation import validate_params


@dataclass(frozen=True)
class FitPlan:
    """Everything one training run needs."""

    spec: NetworkSpec
    cfg: engine.TrainConfig
    data: dict  # engine.prepare_data's arrays, training rows padded with masked rows
    hyper: dict  # engine.hyper_arrays
    members: tuple  # one Member per network of the ensemble (one by default)
    epochs: int


@dataclass(frozen=True)
class Member:
    """What differs between the networks of an ensemble."""

    weights: dict  # initial weights
    seed: int  # seed of the training loop's random draws
    w: np.ndarray | None = None  # the member's row weights (bootstrap), or None

    def data(self, data: dict) -> dict:
        """The plan's arrays as this member trains on them."""
        return data if self.w is None else {**data, "w": self.w}


def random_seeds(random_state, n: int, *more: int) -> list[int]:
    """``n`` independent seeds derived from ``random_state`` without touching
    NumPy's global generator (``None`` draws fresh OS entropy).

    With ``more``, further lists of seeds of those lengths follow, drawn
    after the first ``n`` from the same generator (so the first ``n`` do not
    depend on them); the result is then ``[first, *further]``.
    """
    if isinstance(random_state, np.random.RandomState):
        draw = random_state.randint
    elif isinstance(random_state, np.random.Generator):
        draw = random_state.integers
    else:
        draw = np.random.default_rng(random_state).integers
    # A length of 0 draws nothing, so the generator's state moves as before.
    lists = [
        [int(s) for s in draw(0, 2**31 - 1, size=k)] if k else [] for k in (n, *more)
    ]
    return lists if more else lists[0]


def plan_fit(estimator, X, y, sample_weight=None) -> FitPlan:
    """Validate the parameters and data of ``estimator.fit(X, y,
    sample_weight)`` and compute what training needs. Sets the input and
    target attributes (``n_features_in_``, ``classes_`` ...)."""
    validate_params(estimator)
    X, y_enc, weights, task, n_outputs = estimator._training_data(X, y, sample_weight)
    k = estimator.n_members
    # The first three seeds are a single network's, whatever the ensemble:
    # member 0 of an ensemble without bootstrap is the plain fit.
    (seed_init, seed_train, seed_split), extra, boot = random_seeds(
        estimator.random_state, 3, 2 * (k - 1), k if estimator.bootstrap else 0
    )
    X, y_enc, weights, X_val, y_val = _hold_out(
        estimator, X, y_enc, weights, task, seed_split
    )
    spec = estimator._network_spec(X.shape[1], n_outputs, task)
    cfg = engine.make_config(
        optimizer=estimator.optimizer,
        batch_size=estimator.batch_size,
        n_train=X.shape[0],
        shuffle=estimator.shuffle,
        has_val=X_val is not None,
        early_stopping=estimator.early_stopping,
        patience=estimator.patience,
        epochs=estimator.epochs,
        verbose=estimator.verbose,
    )
    data = engine.prepare_data(X, y_enc, weights, X_val, y_val, cfg.batch_size)
    seeds = [(seed_init, seed_train), *zip(extra[0::2], extra[1::2], strict=True)]
    members = tuple(
        Member(
            weights=init_weights(spec, s_init),
            seed=s_train,
            w=_bootstrap_weights(data["w"], X.shape[0], boot[i]) if boot else None,
        )
        for i, (s_init, s_train) in enumerate(seeds)
    )
    return FitPlan(
        spec=spec,
        cfg=cfg,
        data=data,
        hyper=engine.hyper_arrays(**estimator._hyperparameters(X, y_enc)),
        members=members,
        epochs=estimator.epochs,
    )


def _bootstrap_weights(w, n, seed):
    """Row weights ``w`` (the first ``n`` rows real, the rest padding) times
    the counts of a bootstrap resample: ``n`` rows drawn with replacement."""
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n))
    out = np.zeros_like(w)
    out[:n] = w[:n] * counts.astype(w.dtype)
    return out


def _hold_out(estimator, X, y_enc, weights, task, seed):
    """The training rows and the validation rows (None without a validation
    fraction), split as ``validation_fraction`` and ``early_stopping`` say."""
    fraction = estimator.validation_fraction
    if estimator.early_stopping and fraction is None:
        fraction = 0.1
    if fraction is None:
        return X, y_enc, weights, None, None
    stratify = (
        y_enc if task == "multiclass" else (y_enc[:, 0] if task == "binary" else None)
    )
    try:
        X, X_val, y_enc, y_val, weights, _ = train_test_split(
            X,
            y_enc,
            weights,
            test_size=fraction,
            random_state=seed,
            stratify=stratify,
        )
    except ValueError as exc:
        raise ValueError(
            f"validation_fraction={fraction} cannot hold out a "
            f"validation set from {X.shape[0]} samples: {exc}"
        ) from None
    return X, y_enc, weights, X_val, y_val


def network_spec(params: dict, n_features, n_outputs, task) -> NetworkSpec:
    """The structure that parameters ``params`` describe for data of this
    shape."""
    position = params["noise_position"]
    positions = (position,) if isinstance(position, str) else tuple(position)
    sites = (
        tuple(p for p in NOISE_POSITIONS if p in positions)
        if params["noise_std"] > 0
        else ()
    )
    max_norm = params["max_norm"]
    return NetworkSpec(
        n_features=n_features,
        hidden_layer_sizes=tuple(int(u) for u in params["hidden_layer_sizes"]),
        n_outputs=n_outputs,
        task=task,
        activation=SKLEARN_ACTIVATIONS.get(params["activation"], params["activation"]),
        kernel_initializer=params["kernel_initializer"],
        noise_sites=sites,
        batchnorm=params["batchnorm"] or None,
        max_norm=None if max_norm is None else float(max_norm),
        # Without noise layers the type changes nothing; one value keeps
        # such fits on one compiled program.
        noise_type=params["noise_type"] if sites else "additive",
        **_switches(params),
    )


def _switches(params: dict) -> dict:
    """The spec flags the knobs switch on (a flag two knobs share is on when
    either switches it on)."""
    flags: dict = {}
    for k in KNOBS:
        if k.switches is not None and k.name in params:
            value = params[k.name]
            on = k.is_on(value) if k.is_on is not None else value > 0
            flags[k.switches] = flags.get(k.switches, False) or bool(on)
    return flags


def engine_hyper(params: dict, X, y_enc) -> dict:
    """The engine's hyperparameters for training rows ``X`` and encoded
    targets ``y_enc`` (the data set the feature and target scales)."""
    hyper = {
        name: params[name]
        for name in params
        if name in KNOB and KNOB[name].engine is not None
    }
    if hyper["learning_rate"] is None:
        hyper["learning_rate"] = DEFAULT_LEARNING_RATE[params["optimizer"]]
    per_column = params["noise_scale"] == "feature"
    hyper["input_noise_scale"] = _column_std(X) if per_column else np.ones(X.shape[1])
    if "target_noise_std" in params:
        hyper["target_noise_scale"] = (
            _column_std(y_enc) if per_column else np.ones(y_enc.shape[1])
        )
    hyper.update(schedule_steps(params, X.shape[0]))
    return hyper


def schedule_steps(params: dict, n_train: int) -> dict:
    """The learning-rate schedule of ``params`` in optimizer steps of a fit
    on ``n_train`` rows (``engine._optim.learning_rate`` reads them):

    * ``warmup_steps``: ``warmup_fraction * T``, where ``T`` is the fit's
      ``epochs * ceil(n_train / batch_size)`` steps;
    * ``decay_start``: the step the cosine decay starts from (after the
      warm-up; for ``"flat_cosine"`` at half the fit at the earliest), or
      ``_knobs.NO_DECAY``;
    * ``decay_steps``: the steps from there to the end of the fit.
    """
    batch_size = min(params["batch_size"], n_train)
    total = params["epochs"] * math.ceil(n_train / batch_size)
    warmup = params["warmup_fraction"] * total
    start = {
        "constant": NO_DECAY,
        "cosine": warmup,
        "flat_cosine": max(warmup, 0.5 * total),
    }[params["lr_schedule"]]
    return {
        "warmup_steps": warmup,
        "decay_start": start,
        "decay_steps": 1.0 if start == NO_DECAY else total - start,
    }


def _column_std(a):
    """Standard deviation of each column over the training rows (at most the
    largest absolute value, so it fits float32 as the validated data do)."""
    return np.std(np.asarray(a, dtype=np.float64), axis=0)


def apply_result(estimator, spec, result, *, stacklevel) -> None:
    """Write ``engine.TrainResult`` ``result`` of training ``spec`` into the
    estimator (a list of them, one per member, for an ensemble); warn (at
    ``stacklevel`` from the caller) if training diverged."""
    if isinstance(result, list | tuple):
        results = list(result)
        set_fitted_state(
            estimator,
            spec,
            [r.weights for r in results],
            [estimator._rename_history(r.history) for r in results],
            [r.n_iter for r in results],
            [r.best_epoch for r in results],
        )
        diverged = [i for i, r in enumerate(results) if r.diverged]
        if diverged:
            warn_diverged(
                estimator,
                [results[i].n_iter for i in diverged],
                stacklevel=stacklevel + 1,
                members=diverged,
            )
        return
    set_fitted_state(
        estimator,
        spec,
        result.weights,
        estimator._rename_history(result.history),
        result.n_iter,
        result.best_epoch,
    )
    if result.diverged:
        warn_diverged(estimator, result.n_iter, stacklevel=stacklevel + 1)


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
    estimator.out_activation_ = spec.output_activation
    if best_epoch is None:
        estimator.__dict__.pop("best_epoch_", None)
        estimator.__dict__.pop("best_loss_", None)
    else:
        estimator.best_epoch_ = best_epoch
        estimator.best_loss_ = history["val_loss"][best_epoch]


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
