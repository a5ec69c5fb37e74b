"""Weight decay and learning-rate schedules (issue 14): ``alpha`` is
scikit-learn's L2 penalty, ``weight_decay`` Keras's decoupled decay (AdamW),
``lr_schedule`` and ``warmup_fraction`` Keras's ``CosineDecay`` form.

Engine-level tests compare one loss or one optimizer step with scikit-learn
and Keras on the same weights (no compilation); the estimator-level tests
share one training configuration so that they compile few programs.
"""

from __future__ import annotations

import dataclasses
import warnings

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_circles, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.neural_network import MLPClassifier, MLPRegressor

from skrobust import InvalidParameterError, engine
from skrobust import NoisyMLPClassifier as Clf
from skrobust import NoisyMLPRegressor as Reg
from skrobust._knobs import read_by
from skrobust._network import NetworkSpec, init_weights
from skrobust._plan import schedule_steps
from skrobust.engine import _core, _optim

NEW = ("alpha", "weight_decay", "warmup_steps", "decay_start", "decay_steps")
# Three or four mini-batches of 11 for the 50 rows' 3-fold training folds.
FAST = dict(
    hidden_layer_sizes=(6,),
    epochs=8,
    batch_size=11,
    learning_rate=0.05,
    random_state=0,
)
# Every new operation switched on: one compiled program per backend.
ALL_ON = dict(alpha=1e-3, weight_decay=1e-3, lr_schedule="cosine", warmup_fraction=0.2)


@pytest.fixture(scope="module")
def data():
    return make_circles(50, noise=0.1, random_state=1)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _kernel_norm(est):
    return sum(float(np.sum(np.square(k))) for k in est._weights["params"]["kernels"])


def _hyper(**kw):
    """Every engine value (so weight decay and the schedule are on), with
    the schedule of ``schedule_steps`` for the keys it knows."""
    plan = {
        k: kw.pop(k)
        for k in ("epochs", "batch_size", "warmup_fraction", "lr_schedule", "n_train")
        if k in kw
    }
    if plan:
        n_train = plan.pop("n_train")
        kw.update(schedule_steps(plan, n_train))
    return engine.hyper_arrays(**kw)


# -- alpha: scikit-learn's penalty -----------------------------------------------


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_alpha_adds_scikit_learns_penalty_on_the_same_weights(task):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    if task == "binary":
        y, sk = (X[:, 0] + X[:, 1] > 0).astype(int), MLPClassifier
    else:
        y, sk = X @ np.array([1.0, -2.0, 0.5]), MLPRegressor
    spec = NetworkSpec(3, (4,), 1, task, l2_penalty=True)
    params = init_weights(spec, 0)["params"]
    alpha = 2.0
    # scikit-learn's loss at these weights: the loss its first full-batch
    # SGD step records, started from them.
    theirs = sk(
        hidden_layer_sizes=(4,),
        alpha=alpha,
        solver="sgd",
        batch_size=12,
        learning_rate_init=1e-9,
        momentum=0.0,
        max_iter=1,
        shuffle=False,
        warm_start=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y)
        theirs.coefs_ = [np.asarray(k, np.float64) for k in params["kernels"]]
        theirs.intercepts_ = [np.asarray(b, np.float64) for b in params["biases"]]
        theirs.fit(X, y)
    # Ours on the same rows plus four masked padding rows, which must not
    # count among the mini-batch's rows.
    xb = np.concatenate([X, np.ones((4, 3))]).astype("float32")
    yb = np.concatenate([y, np.zeros(4)]).astype("float32")[:, None]
    mask = np.concatenate([np.ones(12), np.zeros(4)]).astype("float32")
    loss, _ = _core.batch_loss(
        spec,
        params,
        {},
        xb,
        yb,
        mask,
        mask,
        _hyper(alpha=alpha, learning_rate=0.1),
        None,
    )
    plain, _ = _core.batch_loss(
        dataclasses.replace(spec, l2_penalty=False),
        params,
        {},
        xb,
        yb,
        mask,
        mask,
        _hyper(learning_rate=0.1),
        None,
    )
    # The regressor's loss is Keras's MSE, twice scikit-learn's halved one.
    factor = 2.0 if task == "regression" else 1.0
    assert_allclose(float(_np(loss)), factor * theirs.loss_curve_[-1], rtol=1e-5)
    assert float(_np(loss)) > 1.5 * float(_np(plain))  # the penalty is no rounding


# -- weight decay and schedules: Keras's -----------------------------------------


@pytest.mark.keras
@pytest.mark.parametrize(
    "name, keras_optimizer, extra",
    [
        ("adam", keras.optimizers.AdamW, {}),
        ("sgd", keras.optimizers.SGD, {"momentum": 0.9}),
    ],
)
def test_weight_decay_with_a_warm_cosine_schedule_steps_as_keras(
    name, keras_optimizer, extra, assert_steps_match_keras
):
    # 8 rows in batches of 4 for 3 epochs: T = 6 steps, 2 of them warm-up.
    lr, wd = 0.05, 0.3
    hyper = _hyper(
        learning_rate=lr,
        weight_decay=wd,
        epochs=3,
        batch_size=4,
        n_train=8,
        warmup_fraction=1 / 3,
        lr_schedule="cosine",
        **extra,
    )
    assert float(hyper["warmup_steps"]) == pytest.approx(2.0)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=4, warmup_target=lr, warmup_steps=2
    )
    opt = keras_optimizer(learning_rate=schedule, weight_decay=wd, **extra)
    # Only kernels are decayed (skrobust's choice; Keras would decay all).
    on = NetworkSpec(3, (4,), 4, "regression", weight_decay=True, lr_schedule=True)
    assert_steps_match_keras(name, opt, hyper, 6, on, decay_biases=False)


def _reference_rates(schedule, warmup_fraction, total, lr):
    """The documented schedule, step by step (t counted from 0)."""
    warmup = warmup_fraction * total
    start = {
        "constant": np.inf,
        "cosine": warmup,
        "flat_cosine": max(warmup, total / 2),
    }[schedule]
    out = []
    for t in range(total):
        if t < warmup:
            out.append(lr * t / warmup)
        elif t < start:
            out.append(lr)
        else:
            out.append(lr * 0.5 * (1 + np.cos(np.pi * (t - start) / (total - start))))
    return np.array(out)


@pytest.mark.parametrize("schedule", ["constant", "cosine", "flat_cosine"])
@pytest.mark.parametrize("warmup_fraction", [0.0, 0.1, 0.7])
def test_learning_rate_per_step_follows_the_schedule(schedule, warmup_fraction):
    # 37 rows in batches of 5 for 4 epochs: T = 32 steps.
    hyper = _hyper(
        learning_rate=0.02,
        epochs=4,
        batch_size=5,
        n_train=37,
        warmup_fraction=warmup_fraction,
        lr_schedule=schedule,
    )
    steps = np.arange(1, 33, dtype="int32")
    # The schedule switched on: "constant" without warm-up must then give the
    # flat rate from its values alone.
    ours = _np(_optim.learning_rate(hyper, steps, True))
    ref = _reference_rates(schedule, warmup_fraction, 32, 0.02)
    assert_allclose(ours, ref, rtol=1e-5, atol=1e-9)
    if schedule != "constant":
        # The last step is one step short of the cosine's end at 0.
        assert ours[-1] < 0.05 * 0.02
    if schedule == "flat_cosine" and warmup_fraction < 0.5:
        assert_array_equal(
            ours[int(np.ceil(32 * warmup_fraction)) : 16], np.float32(0.02)
        )


def test_neutral_values_change_no_bit_of_an_update():
    # What lets a member without decay or schedule join a batched run that
    # has them, and equal its plain fit.
    rng = np.random.default_rng(1)
    params = {
        "kernels": [rng.normal(size=(3, 4)).astype("float32")],
        "biases": [rng.normal(size=4).astype("float32")],
    }
    grads = {
        k: [rng.normal(size=v[0].shape).astype("float32")] for k, v in params.items()
    }
    neutral = _hyper(learning_rate=0.01, momentum=0.0)  # decay 0, no schedule
    plain = {"learning_rate": neutral["learning_rate"], "momentum": np.float32(0)}
    assert "decay_start" in neutral and "weight_decay" in neutral
    on = NetworkSpec(3, (4,), 4, "regression", weight_decay=True, lr_schedule=True)
    off = NetworkSpec(3, (4,), 4, "regression")
    for name in ("adam", "sgd"):
        state = _optim.init_optimizer(name, params)
        for step in (1, 2, 1000):
            a, _ = _optim.apply_updates(name, params, grads, state, step, neutral, on)
            b, _ = _optim.apply_updates(name, params, grads, state, step, plain, off)
            for x, y in zip(
                a["kernels"] + a["biases"], b["kernels"] + b["biases"], strict=True
            ):
                assert_array_equal(_np(x), _np(y))


# -- the estimators -----------------------------------------------------------------


@pytest.mark.parametrize("cls", [Clf, Reg])
def test_defaults_keep_todays_program(cls):
    task = "binary" if cls is Clf else "regression"
    est = cls()
    spec = est._network_spec(2, 1, task)
    assert not (spec.l2_penalty or spec.weight_decay or spec.lr_schedule)
    cfg = engine.make_config(
        optimizer="adam",
        batch_size=32,
        n_train=100,
        shuffle=True,
        has_val=False,
        early_stopping=False,
        patience=10,
        epochs=200,
    )
    assert not read_by(spec, cfg) & set(NEW)
    # Each knob switches its operation on alone.
    for params, flag in [
        ({"alpha": 0.1}, "l2_penalty"),
        ({"weight_decay": 0.1}, "weight_decay"),
        ({"lr_schedule": "cosine"}, "lr_schedule"),
        ({"lr_schedule": "flat_cosine"}, "lr_schedule"),
        ({"warmup_fraction": 0.1}, "lr_schedule"),
    ]:
        on = clone(est).set_params(**params)._network_spec(2, 1, task)
        assert on == dataclasses.replace(spec, **{flag: True}), params


@pytest.mark.parametrize(
    "param, value",
    [
        ("alpha", -1e-4),
        ("alpha", float("inf")),
        ("alpha", "0.1"),
        ("weight_decay", -0.1),
        ("weight_decay", float("nan")),
        ("lr_schedule", "linear"),
        ("lr_schedule", None),
        ("warmup_fraction", 1.0),
        ("warmup_fraction", -0.1),
    ],
)
def test_bad_values_raise_naming_the_parameter(param, value, data):
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter"):
        Clf(**{**FAST, param: value}).fit(*data)


def test_alpha_and_weight_decay_shrink_the_kernels(data):
    # One structure (every operation on), three strengths.
    weak = Clf(**{**FAST, **ALL_ON}).fit(*data)
    strong_l2 = clone(weak).set_params(alpha=3.0).fit(*data)
    strong_wd = clone(weak).set_params(weight_decay=3.0).fit(*data)
    assert _kernel_norm(strong_l2) < 0.8 * _kernel_norm(weak)
    assert _kernel_norm(strong_wd) < 0.8 * _kernel_norm(weak)


def test_a_fit_inside_its_warm_up_starts_from_a_zero_learning_rate(data):
    # One full-batch step, at t = 0 of the warm-up: the weights do not move,
    # whatever the learning rate; without warm-up they do. (One structure:
    # every fit here has a schedule.)
    X, y = data
    one_step = dict(FAST, epochs=1, batch_size=len(X), lr_schedule="cosine")
    fits = [
        Clf(**{**one_step, "warmup_fraction": w, "learning_rate": lr}).fit(X, y)
        for w, lr in [(0.5, 0.05), (0.5, 0.5), (0.0, 0.5)]
    ]
    a, b, moved = (f._weights["params"]["kernels"] for f in fits)
    for ka, kb, km in zip(a, b, moved, strict=True):
        assert_array_equal(ka, kb)
        assert not np.array_equal(ka, km)


def test_a_batched_grid_over_the_new_values_is_one_run_of_plain_fits(data):
    from skrobust.model_selection._batched import evaluate

    X, y = data
    est = Clf(**FAST)
    candidates = [
        ALL_ON,
        dict(ALL_ON, alpha=0.05, weight_decay=0.01, warmup_fraction=0.0),
        dict(ALL_ON, lr_schedule="flat_cosine", warmup_fraction=0.3),
        {},  # no penalty, decay or schedule: neutral values in the run
    ]
    # Members on 50 and on 33 rows: 5 and 3 mini-batches, so their schedules
    # span different numbers of steps inside one run.
    rows = np.arange(len(X))
    splits = [(rows, rows[:10]), (rows[:33], rows[33:])]
    results, report = evaluate(
        est,
        candidates,
        X,
        y,
        splits,
        make_scorer(accuracy_score),
        return_estimator=True,
    )
    assert report.n_batched == 8 and report.n_runs == 1
    # The plain fits compile two programs besides the one of
    # test_alpha_and_weight_decay_shrink_the_kernels.
    for c, s in [(0, 0), (1, 0), (2, 0), (3, 0), (0, 1), (2, 1)]:
        train = splits[s][0]
        member = results[c][s]["estimator"]
        plain = clone(est).set_params(**candidates[c]).fit(X[train], y[train])
        assert member._spec == plain._spec
        for a, b in zip(
            member._weights["params"]["kernels"],
            plain._weights["params"]["kernels"],
            strict=True,
        ):
            assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_a_short_last_batch_takes_a_full_batchs_penalty():
    # 402 rows in batches of 200 leave a last batch of 2: divided by its own
    # rows (scikit-learn's formula), its penalty is 100 times a full batch's
    # and a large alpha collapses the weights; a fit on 400 rows has no such
    # step. Divided by a full batch's rows, the two fits stay alike.
    X, y = make_classification(n_samples=402, n_features=5, random_state=0)
    kw = dict(alpha=3.0, batch_size=200, epochs=30, tol=None, random_state=0)

    def kernel_norm(n):
        est = Clf((16,), **kw).fit(X[:n], y[:n])
        return sum(float(np.sum(k**2)) for k in est.coefs_)

    assert kernel_norm(402) == pytest.approx(kernel_norm(400), rel=0.1)
