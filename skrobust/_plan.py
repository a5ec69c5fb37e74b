"""What a fit computes before training.

:func:`plan_fit` turns an estimator's parameters and data into everything
training needs (network spec, compile-time configuration, arrays, engine
hyperparameters, initial weights, seeds). A plain fit and every member of a
batched search plan here, so they cannot drift apart; what they keep
afterwards is ``_fitted.py``'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
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
from skrobust._network import init_weights
from skrobust._spec import NetworkSpec
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
    continued: bool = False  # carries on from the fitted state (warm start)


@dataclass(frozen=True)
class Member:
    """What differs between the networks of an ensemble."""

    weights: dict  # initial weights
    seed: int  # seed of the training loop's random draws
    w: np.ndarray | None = None  # the member's row weights (bootstrap), or None
    opt: dict | None = None  # optimizer state to carry on from (warm start)
    step: int = 0  # optimizer steps already taken (warm start)

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


def resolve_batch_size(batch_size, n_train: int) -> int:
    """The mini-batch size of a fit on ``n_train`` rows: ``"auto"`` is
    scikit-learn's ``min(200, n_train)``; any size is capped at the rows."""
    if batch_size == "auto":
        return min(200, n_train)
    return min(int(batch_size), n_train)


def continuation_seed(seed: int, n: int) -> int:
    """The training seed of the ``n``-th continuation (``partial_fit`` call
    or warm-started ``fit``) of a fit seeded ``seed``: independent of it,
    so a continued fit never replays the draws it has seen."""
    if n == 0:
        return seed
    return int(np.random.default_rng([seed, n]).integers(0, 2**31 - 1))


def plan_fit(
    estimator, X, y, sample_weight=None, *, incremental=False, classes=None
) -> FitPlan:
    """Validate the parameters and data of ``estimator.fit(X, y,
    sample_weight)`` and compute what training needs. Sets the input and
    target attributes (``n_features_in_``, ``classes_`` ...).

    A fitted estimator with ``warm_start`` (or ``incremental``, one
    ``partial_fit`` epoch) continues from its weights and optimizer state.
    """
    validate_params(estimator)
    previous = _continued_state(estimator, incremental)
    old_classes = getattr(estimator, "classes_", None)
    X, y_enc, weights, task, n_outputs = estimator._training_data(
        X, y, sample_weight, incremental=incremental, classes=classes
    )
    if (
        previous is not None
        and not incremental
        and old_classes is not None
        and not np.array_equal(old_classes, estimator.classes_)
    ):
        new_classes = estimator.classes_
        # A refused fit leaves the fitted estimator as it was.
        estimator.classes_ = old_classes
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as in "
            f"the previous call to fit. Previously got {old_classes}, `y` has "
            f"{new_classes}"
        )
    k = estimator.n_members
    # The first three seeds are a single network's, whatever the ensemble:
    # member 0 of an ensemble without bootstrap is the plain fit.
    (seed_init, seed_train, seed_split), extra, boot = random_seeds(
        estimator.random_state, 3, 2 * (k - 1), k if estimator.bootstrap else 0
    )
    if incremental:
        # One epoch over the given rows; scikit-learn's partial_fit holds
        # nothing out and does not stop early either.
        X_val = y_val = None
        epochs = 1
    else:
        X, y_enc, weights, X_val, y_val = _hold_out(
            estimator, X, y_enc, weights, task, seed_split
        )
        epochs = estimator.epochs
    spec = estimator._network_spec(X.shape[1], n_outputs, task)
    cfg = engine.make_config(
        optimizer=estimator.optimizer,
        batch_size=resolve_batch_size(estimator.batch_size, X.shape[0]),
        n_train=X.shape[0],
        shuffle=estimator.shuffle,
        has_val=X_val is not None,
        early_stopping=estimator.early_stopping and not incremental,
        patience=estimator.patience,
        epochs=epochs,
        verbose=estimator.verbose,
        convergence=estimator.tol is not None and not incremental,
    )
    data = engine.prepare_data(X, y_enc, weights, X_val, y_val, cfg.batch_size)
    seeds = [(seed_init, seed_train), *zip(extra[0::2], extra[1::2], strict=True)]
    if previous is not None and previous["spec"] != spec:
        if incremental:
            raise ValueError(
                f"partial_fit cannot change the network of a fitted "
                f"{type(estimator).__name__}: its parameters or the data's "
                f"shape describe another structure than the first call's."
            )
        previous = None  # warm_start with another structure starts afresh
    members = tuple(
        Member(
            weights=init_weights(spec, s_init)
            if previous is None
            else previous["weights"][i],
            seed=s_train
            if previous is None
            else continuation_seed(s_train, previous["continuations"] + 1),
            w=_bootstrap_weights(data["w"], X.shape[0], boot[i]) if boot else None,
            opt=None if previous is None else previous["opt"][i],
            step=0 if previous is None else previous["step"][i],
        )
        for i, (s_init, s_train) in enumerate(seeds)
    )
    hyper = estimator._hyperparameters(X, y_enc)
    if previous is not None and not incremental and hyper["decay_start"] != NO_DECAY:
        # A warm-started fit decays its learning rate afresh over its own
        # epochs (the warm-up is not repeated): the schedule starts at the
        # optimizer step the previous fit ended on. partial_fit's schedule
        # spans ``epochs`` calls.
        hyper["decay_start"] += previous["step"][0]
        hyper["warmup_steps"] = 0.0
    return FitPlan(
        spec=spec,
        cfg=cfg,
        data=data,
        hyper=engine.hyper_arrays(**hyper),
        members=members,
        epochs=epochs,
        continued=previous is not None,
    )


def _continued_state(estimator, incremental):
    """What a continued fit starts from (weights, optimizer state and step
    per member, the spec, how many continuations came before), or None for
    a fresh start."""
    if not (incremental or estimator.warm_start):
        return None
    if not hasattr(estimator, "_weights"):
        return None
    weights = estimator._members_weights()
    if len(weights) != estimator.n_members:
        return None
    # A loaded file or an older pickle keeps no optimizer state: the
    # optimizer starts afresh from the fitted weights.
    opt = getattr(estimator, "_opt", None) or [None] * len(weights)
    step = getattr(estimator, "_step", None) or [0] * len(weights)
    return {
        "spec": estimator._spec,
        "weights": weights,
        "opt": opt,
        "step": step,
        "continuations": getattr(estimator, "_continuations", 0),
    }


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
    sites = _noise_sites(params)
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


def _noise_sites(params: dict) -> tuple:
    """The sites of the noise layers: those of a knob's ``sites`` knob, in
    ``NOISE_POSITIONS`` order, where the knob's value is above 0."""
    sites: set = set()
    for k in KNOBS:
        if k.sites is not None and k.name in params and params[k.name] > 0:
            where = params[k.sites]
            sites.update((where,) if isinstance(where, str) else where)
    return tuple(p for p in NOISE_POSITIONS if p in sites)


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
    if hyper["tol"] is None:
        # Without the convergence stop, early stopping counts any
        # improvement of the validation loss.
        hyper["tol"] = 0.0
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
    batch_size = resolve_batch_size(params["batch_size"], n_train)
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
