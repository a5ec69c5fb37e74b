"""The noise kinds of issue 7: multiplicative and feature-scaled noise, weight
noise, annealed gradient noise, label smoothing, label flipping and target
noise.

Engine-level tests check each formula against the draws a NumPy generator
hands the engine (the ``_FixedRng`` pattern of ``tests/test_engine.py``) and
against statistics of many draws. Estimator-level tests show that a large
setting of each kind changes the fit while predictions stay noise-free, and
that the parameters validate, search, reproduce, save and batch.

Compiling a training program is the slow part (seconds per network structure
on the JAX backend), so every fit here shares one training configuration
(``FAST``: two mini-batches of 32 for the 50 or 64 training rows and for
their 3-fold training folds), and the per-kind tests train in two structures
only: the classifier's with every classifier kind switched on and the
regressor's with input and target noise (``_ClfAllKinds`` and
``_RegAllKinds``). A kind whose rate is zero inside such a structure is no
noise at all, the property batched search relies on;
``test_zero_rates_inside_the_shared_structure_equal_the_plain_fit`` checks it
against the plain network.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile

import keras
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, KFold, RepeatedKFold

from skrobust import InvalidParameterError, engine, load, save
from skrobust import NoisyMLPClassifier as Clf
from skrobust import NoisyMLPRegressor as Reg
from skrobust._network import NetworkSpec, init_weights
from skrobust._validation import validate_params
from skrobust.engine import _core
from skrobust.model_selection import BatchedGridSearchCV, batched_cross_validate

# 60 epochs (one compiled chunk of 64) of 2 mini-batches stay below the
# TensorFlow engine's XLA threshold, where compilation is fast.
FAST = dict(
    hidden_layer_sizes=(8,),
    epochs=60,
    learning_rate=0.05,
    batch_size=32,
    random_state=0,
)
SEEDS = (0, 1, 2)
CV = KFold(3, shuffle=True, random_state=0)
SITES = ("input", "pre_activation")

# Every classifier kind at once, at moderate settings; every regressor kind.
CLF_ALL = dict(
    noise_type="multiplicative",
    noise_std=0.2,
    noise_position=SITES,
    weight_noise_std=0.05,
    gradient_noise_eta=0.01,
    label_smoothing=0.1,
    label_flip_rate=0.1,
)
REG_ALL = dict(
    noise_std=0.3, noise_position="input", noise_scale="feature", target_noise_std=0.2
)
CLF_STRUCTURE = dict(
    noise_sites=SITES,
    noise_type="multiplicative",
    weight_noise=True,
    gradient_noise=True,
    label_smoothing=True,
    label_flip=True,
)
REG_STRUCTURE = dict(noise_sites=("input",), noise_type="additive", target_noise=True)


class _ClfAllKinds(Clf):
    """The classifier trained in the structure of ``CLF_ALL`` whatever its
    rates: a kind set to 0 is present with a zero rate."""

    def _network_spec(self, n_features, n_outputs, task):
        spec = super()._network_spec(n_features, n_outputs, task)
        return dataclasses.replace(spec, **CLF_STRUCTURE)


class _RegAllKinds(Reg):
    """The regressor trained in the structure of ``REG_ALL`` (additive input
    noise and target noise) whatever its rates."""

    def _network_spec(self, n_features, n_outputs, task):
        spec = super()._network_spec(n_features, n_outputs, task)
        return dataclasses.replace(spec, **REG_STRUCTURE)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _binary_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def _regression_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=50)


_FITS: dict = {}


def _fit(cls, params, X, y, seed=0):
    """A fitted estimator, memoized per (class, parameters, data, seed)."""
    key = (cls, repr(sorted(params.items())), X.tobytes(), y.tobytes(), seed)
    if key not in _FITS:
        _FITS[key] = cls(**{**FAST, **params, "random_state": seed}).fit(X, y)
    return _FITS[key]


def _clf(seed=0, **params):
    """The shared-structure classifier on the binary data."""
    return _fit(_ClfAllKinds, params, *_binary_data(), seed=seed)


def _reg(seed=0, X=None, **params):
    Xr, y = _regression_data()
    return _fit(_RegAllKinds, params, Xr if X is None else X, y, seed=seed)


def _mean_over_seeds(metric, make):
    return float(np.mean([metric(make(seed)) for seed in SEEDS]))


def _train_log_loss(est):
    X, y = _binary_data()
    return log_loss(y, est.predict_proba(X))


def _train_r2(est, X=None):
    Xr, y = _regression_data()
    return est.score(Xr if X is None else X, y)


def _numpy_outputs(est, X):
    """The clean network's outputs computed in NumPy from the fitted weights
    (an implementation with no noise to leave out)."""
    w = est._current_weights()["params"]
    h = np.asarray(X, dtype=np.float64)
    for k, b in zip(w["kernels"][:-1], w["biases"][:-1], strict=True):
        h = np.maximum(h @ k + b, 0.0)
    out = h @ w["kernels"][-1] + w["biases"][-1]
    if isinstance(est, Clf):
        return 1.0 / (1.0 + np.exp(-out[:, 0]))
    return out[:, 0]


def _weights(est):
    w = est._current_weights()["params"]
    return [np.asarray(a) for key in sorted(w) for a in w[key]]


def _assert_same_fit(a, b, atol=1e-4):
    for wa, wb in zip(_weights(a), _weights(b), strict=True):
        assert_allclose(wa, wb, atol=atol, rtol=1e-4)


def _std_tol(n, z=6.0):
    """Relative tolerance of the sample std of ``n`` normal draws: z SEs."""
    return z / np.sqrt(2.0 * n)


def _prop_tol(p, n, z=6.0):
    """Tolerance of a proportion ``p`` estimated from ``n`` draws: z SEs."""
    return z * np.sqrt(p * (1.0 - p) / n)


# -- engine: the formula of each kind ------------------------------------------


class _FixedRng:
    """Draws from NumPy, so the test sees exactly what the engine receives;
    records the site of every draw."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.sites = []

    def normal(self, site, shape):
        self.sites.append(site)
        return self.rng.normal(size=tuple(shape)).astype("float32")

    def uniform(self, site, shape):
        self.sites.append(site)
        return self.rng.uniform(size=tuple(shape)).astype("float32")


def _hyper(**kw):
    base = dict(
        noise_std=0.0, dropout=0.0, input_dropout=0.0, learning_rate=0.01, momentum=0.0
    )
    return engine.hyper_arrays(**{**base, **kw})


def _probe_spec(n, **kw):
    """A linear network of identity kernels: its output is what the noise
    made of the input (or of the first hidden layer)."""
    base = dict(
        n_features=n,
        hidden_layer_sizes=(n,),
        n_outputs=n,
        task="regression",
        activation="linear",
    )
    return NetworkSpec(**{**base, **kw})


def _identity_params(spec):
    params = dict(init_weights(spec, 0)["params"])
    n = spec.n_features
    params["kernels"] = [np.eye(n, dtype="float32"), np.eye(n, dtype="float32")]
    params["biases"] = [np.zeros(n, "float32"), np.zeros(n, "float32")]
    return params


def _forward(spec, params, X, hyper, rng, training=True):
    out, _ = _core.forward(
        spec,
        params,
        {},
        X,
        training=training,
        hyper=hyper,
        rng=rng,
        mask=np.ones(len(X), "float32"),
    )
    return _np(out).astype(np.float64)


@pytest.mark.parametrize("site", ["input", "pre_activation", "post_activation"])
def test_multiplicative_noise_is_h_times_one_plus_std_eps_at_any_scale(site):
    n, std = 20_000, 0.3
    spec = _probe_spec(3, noise_sites=(site,), noise_type="multiplicative")
    scales = np.array([1e-3, 1.0, 1e3])
    X = np.tile(scales, (n, 1)).astype("float32")
    # The feature scale is for additive input noise; multiplicative noise
    # ignores it.
    hyper = _hyper(noise_std=std, input_noise_scale=[7.0, 7.0, 7.0])
    out = _forward(spec, _identity_params(spec), X, hyper, _FixedRng(0))
    eps = _FixedRng(0).normal(0, (n, 3)).astype(np.float64)
    # out = h * (1 + std * eps), up to float32 rounding of 1 + std * eps.
    assert_allclose(out / X, 1.0 + std * eps, rtol=0, atol=1e-5)
    relative = out / X - 1.0
    # The relative deviation has std noise_std whatever the value's size.
    assert_allclose(relative.std(axis=0), std, rtol=_std_tol(n))
    assert np.all(np.abs(relative.mean(axis=0)) < 6 * std / np.sqrt(n))
    # Additive noise of the same std is absolute: negligible next to 1e3,
    # overwhelming next to 1e-3.
    additive = dataclasses.replace(spec, noise_type="additive")
    out_add = _forward(
        additive, _identity_params(spec), X, _hyper(noise_std=std), _FixedRng(0)
    )
    rel_add = (out_add / X - 1.0).std(axis=0)
    assert rel_add[0] > 100 * std and rel_add[2] < std / 100


def test_feature_scaled_input_noise_has_std_noise_std_times_the_feature_scale():
    n, std = 20_000, 0.5
    scale = np.array([0.1, 1.0, 1000.0])
    spec = _probe_spec(3, noise_sites=("input",))
    X = np.zeros((n, 3), "float32")
    hyper = _hyper(noise_std=std, input_noise_scale=scale)
    out = _forward(spec, _identity_params(spec), X, hyper, _FixedRng(1))
    eps = _FixedRng(1).normal(0, (n, 3)).astype(np.float64)
    assert_allclose(out, std * scale * eps, rtol=1e-5, atol=1e-6)
    assert_allclose(out.std(axis=0), std * scale, rtol=_std_tol(n))
    # Hidden-layer noise has no data unit: the feature scale leaves it alone.
    hidden = _probe_spec(3, noise_sites=("pre_activation",))
    out_h = _forward(hidden, _identity_params(hidden), X, hyper, _FixedRng(2))
    assert_allclose(out_h.std(axis=0), std, rtol=_std_tol(n))


def test_feature_scaling_keeps_relative_input_noise_when_a_feature_is_rescaled():
    # The scale the estimator hands the engine is each feature's training
    # std: multiplying a feature by 1000 multiplies its noise by 1000, and
    # the noise relative to the data does not change.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 3)) * [1.0, 2.0, 0.5]
    X2 = X * [1.0, 1000.0, 1.0]
    est = Clf(noise_std=0.5, noise_position="input", noise_scale="feature")
    y_enc = np.zeros((500, 1), "float32")
    scale = est._hyperparameters(X, y_enc)["input_noise_scale"]
    scale2 = est._hyperparameters(X2, y_enc)["input_noise_scale"]
    assert_allclose(scale, X.std(axis=0), rtol=1e-12)
    assert_allclose(scale2, X2.std(axis=0), rtol=1e-12)
    assert_allclose(scale2 / scale, [1.0, 1000.0, 1.0], rtol=1e-12)
    absolute = est.set_params(noise_scale="absolute")._hyperparameters(X2, y_enc)
    assert_array_equal(absolute["input_noise_scale"], np.ones(3))

    spec = _probe_spec(3, noise_sites=("input",))
    params = _identity_params(spec)
    out = _forward(
        spec,
        params,
        X.astype("float32"),
        _hyper(noise_std=0.5, input_noise_scale=scale),
        _FixedRng(4),
    )
    out2 = _forward(
        spec,
        params,
        X2.astype("float32"),
        _hyper(noise_std=0.5, input_noise_scale=scale2),
        _FixedRng(4),
    )
    assert_allclose(
        (out2 - X2) / X2.std(axis=0), (out - X) / X.std(axis=0), rtol=1e-3, atol=1e-4
    )
    assert_allclose(((out2 - X2) / X2.std(axis=0)).std(axis=0), 0.5, rtol=_std_tol(500))


def test_regressor_target_noise_scale_is_each_target_columns_std():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 2))
    Y = rng.normal(size=(200, 2)) * [3.0, 0.01]
    hyper = Reg(target_noise_std=0.4, noise_scale="feature")._hyperparameters(X, Y)
    assert hyper["target_noise_std"] == 0.4
    assert_allclose(hyper["target_noise_scale"], Y.std(axis=0), rtol=1e-12)
    assert_allclose(hyper["input_noise_scale"], X.std(axis=0), rtol=1e-12)
    absolute = Reg(target_noise_std=0.4)._hyperparameters(X, Y)
    assert_array_equal(absolute["target_noise_scale"], np.ones(2))
    assert_array_equal(absolute["input_noise_scale"], np.ones(2))


def test_weight_noise_perturbs_the_hidden_kernels_only():
    # Identity probe: the rows of X are the unit vectors, so the outputs are
    # the perturbed hidden kernel itself (the output kernel is the clean
    # identity).
    n, std = 100, 0.2
    spec = _probe_spec(n, weight_noise=True)
    params = _identity_params(spec)
    X = np.eye(n, dtype="float32")
    hyper = _hyper(weight_noise_std=std)
    rng = _FixedRng(6)
    out = _forward(spec, params, X, hyper, rng)
    eps = _FixedRng(6).normal(0, (n, n)).astype(np.float64)
    assert_allclose(out, np.eye(n) + std * eps, rtol=1e-5, atol=1e-5)
    assert_allclose((out - np.eye(n)).std(), std, rtol=_std_tol(n * n))
    assert rng.sites == [_core.SITE_WEIGHT]  # one draw: the hidden kernel
    # Not at inference.
    clean = _forward(spec, params, X, hyper, _FixedRng(6), training=False)
    assert_array_equal(clean, np.eye(n))


def test_weight_noise_formula_with_two_hidden_layers_and_biases():
    spec = NetworkSpec(
        n_features=3,
        hidden_layer_sizes=(4, 5),
        n_outputs=2,
        task="regression",
        weight_noise=True,
    )
    rng = np.random.default_rng(7)
    params = {
        "kernels": [
            rng.normal(size=s).astype("float32") for s in [(3, 4), (4, 5), (5, 2)]
        ],
        "biases": [rng.normal(size=s).astype("float32") for s in [4, 5, 2]],
    }
    X = rng.normal(size=(6, 3)).astype("float32")
    std = 0.7
    draws = _FixedRng(8)
    out = _forward(spec, params, X, _hyper(weight_noise_std=std), draws)
    replica = _FixedRng(8)
    e0, e1 = replica.normal(0, (3, 4)), replica.normal(0, (4, 5))
    k, b = params["kernels"], params["biases"]
    h = np.maximum(X @ (k[0] + std * e0) + b[0], 0)
    h = np.maximum(h @ (k[1] + std * e1) + b[1], 0)
    assert_allclose(out, h @ k[2] + b[2], rtol=1e-4, atol=1e-4)
    assert draws.sites == [_core.SITE_WEIGHT, _core.SITE_WEIGHT + 1]
    # A zero std (a member without weight noise in a batched run that has
    # it) is exactly the clean forward pass.
    zero = _forward(spec, params, X, _hyper(weight_noise_std=0.0), _FixedRng(8))
    plain = _forward(dataclasses.replace(spec, weight_noise=False), params, X, {}, None)
    assert_array_equal(zero, plain)


def _zero_grads():
    return {
        "kernels": [np.zeros((300, 200), "float32"), np.zeros((200, 1), "float32")],
        "biases": [np.zeros(200, "float32"), np.zeros(1, "float32")],
    }


@pytest.mark.parametrize(
    "eta, gamma", [(0.5, 0.55), (0.01, 0.55), (2.0, 1.0), (0.3, 0.0)]
)
@pytest.mark.parametrize("t", [0, 10_000])
def test_gradient_noise_variance_is_eta_over_one_plus_t_to_the_gamma(eta, gamma, t):
    spec = NetworkSpec(
        n_features=300,
        hidden_layer_sizes=(200,),
        n_outputs=1,
        task="binary",
        gradient_noise=True,
    )
    grads = _zero_grads()
    grads["biases"][0] += 1.5  # the noise is added to the gradient
    rng = _FixedRng(9)
    hyper = _hyper(gradient_noise_eta=eta, gradient_noise_gamma=gamma)
    noisy = _core.gradient_noise(spec, grads, np.int32(t), hyper, rng)
    expected_std = np.sqrt(eta / (1.0 + t) ** gamma)
    # Flattened in sorted key order: biases, then kernels; one site each.
    flat = [grads[key][i] for key in sorted(grads) for i in range(len(grads[key]))]
    out = [_np(noisy[key][i]) for key in sorted(noisy) for i in range(len(noisy[key]))]
    replica = _FixedRng(9)
    for g, o in zip(flat, out, strict=True):
        eps = replica.normal(0, g.shape)
        assert_allclose(
            o, g + expected_std * eps, rtol=1e-4, atol=1e-6 * expected_std + 1e-7
        )
    assert rng.sites == [_core.SITE_GRADIENT + j for j in range(4)]
    big = out[2]  # the 300 x 200 kernel gradient
    assert_allclose(big.std(), expected_std, rtol=_std_tol(big.size))


def test_gradient_noise_anneals_and_vanishes_at_zero_eta():
    spec = NetworkSpec(
        n_features=300,
        hidden_layer_sizes=(200,),
        n_outputs=1,
        task="binary",
        gradient_noise=True,
    )
    hyper = _hyper(gradient_noise_eta=1.0, gradient_noise_gamma=0.55)
    stds = [
        _np(
            _core.gradient_noise(spec, _zero_grads(), np.int32(t), hyper, _FixedRng(t))[
                "kernels"
            ][0]
        ).std()
        for t in (0, 9, 99, 999)
    ]
    # std = sqrt(1 / (1 + t) ** 0.55)
    assert_allclose(
        stds, [(1 + t) ** -0.275 for t in (0, 9, 99, 999)], rtol=_std_tol(60_000)
    )
    zero = _core.gradient_noise(
        spec, _zero_grads(), np.int32(0), _hyper(), _FixedRng(0)
    )
    for key in zero:
        for a in zero[key]:
            assert not np.any(_np(a))


def _labels(n, k, seed):
    return np.random.default_rng(seed).integers(0, k, size=n)


def test_binary_label_flip_flips_each_label_with_the_rate():
    n, rate = 200_000, 0.3
    spec = NetworkSpec(
        n_features=2,
        hidden_layer_sizes=(3,),
        n_outputs=1,
        task="binary",
        label_flip=True,
    )
    y = _labels(n, 2, 10).astype("float32")[:, None]
    out = _np(_core.noisy_targets(spec, y, _hyper(label_flip_rate=rate), _FixedRng(11)))
    flipped = _FixedRng(11).uniform(0, (n, 1)) < rate
    assert_array_equal(out, np.where(flipped, 1.0 - y, y))
    changed = out != y
    assert abs(changed.mean() - rate) < _prop_tol(rate, n)
    # Each class flips at the same rate.
    for c in (0.0, 1.0):
        sel = y == c
        assert abs(changed[sel].mean() - rate) < _prop_tol(rate, sel.sum())
    every = _np(
        _core.noisy_targets(spec, y, _hyper(label_flip_rate=1.0), _FixedRng(12))
    )
    assert_array_equal(every, 1.0 - y)
    none = _np(_core.noisy_targets(spec, y, _hyper(label_flip_rate=0.0), _FixedRng(12)))
    assert_array_equal(none, y)


@pytest.mark.parametrize("k", [3, 5])
def test_multiclass_label_flip_picks_uniformly_among_the_other_classes(k):
    n, rate = 200_000, 0.4
    spec = NetworkSpec(
        n_features=2,
        hidden_layer_sizes=(3,),
        n_outputs=k,
        task="multiclass",
        label_flip=True,
    )
    y = _labels(n, k, 13)
    out = _np(
        _core.noisy_targets(
            spec, y.astype("float32"), _hyper(label_flip_rate=rate), _FixedRng(14)
        )
    )
    assert out.shape == (n, k)
    assert_array_equal(out.sum(axis=1), 1.0)  # one-hot rows
    new = out.argmax(axis=1)
    replica = _FixedRng(14)
    flipped = replica.uniform(0, (n,)) < rate
    assert_array_equal(new != y, flipped)  # a flipped label never stays
    other = rate / (k - 1)
    for c in range(k):
        sel = y == c
        m = sel.sum()
        freq = np.bincount(new[sel], minlength=k) / m
        for d in range(k):
            p = 1.0 - rate if d == c else other
            assert abs(freq[d] - p) < _prop_tol(p, m), (c, d, freq)
    every = _np(
        _core.noisy_targets(
            spec, y.astype("float32"), _hyper(label_flip_rate=1.0), _FixedRng(15)
        )
    )
    assert not np.any(every.argmax(axis=1) == y)


@pytest.mark.keras
def test_label_smoothing_matches_keras_categorical_crossentropy():
    k, s = 4, 0.2
    spec = NetworkSpec(
        n_features=2,
        hidden_layer_sizes=(3,),
        n_outputs=k,
        task="multiclass",
        label_smoothing=True,
    )
    rng = np.random.default_rng(16)
    y = _labels(64, k, 17)
    logits = (3 * rng.normal(size=(64, k))).astype("float32")
    targets = _core.noisy_targets(
        spec, y.astype("float32"), _hyper(label_smoothing=s), _FixedRng(0)
    )
    onehot = np.eye(k, dtype="float32")[y]
    assert_allclose(_np(targets), onehot * (1 - s) + s / k, rtol=1e-6)
    ours = _np(_core.per_sample_loss(spec, logits, targets))
    loss = keras.losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=s, reduction=None
    )
    assert_allclose(ours, _np(loss(onehot, logits)), rtol=1e-5, atol=1e-6)
    # The smoothed loss is not the plain one.
    plain = _np(_core.per_sample_loss(spec, logits, y.astype("float32")))
    assert not np.allclose(ours, plain, rtol=1e-3)


@pytest.mark.keras
def test_label_smoothing_matches_keras_binary_crossentropy():
    s = 0.3
    spec = NetworkSpec(
        n_features=2,
        hidden_layer_sizes=(3,),
        n_outputs=1,
        task="binary",
        label_smoothing=True,
    )
    rng = np.random.default_rng(18)
    y = _labels(64, 2, 19).astype("float32")[:, None]
    logits = (3 * rng.normal(size=(64, 1))).astype("float32")
    targets = _core.noisy_targets(spec, y, _hyper(label_smoothing=s), _FixedRng(0))
    assert_allclose(_np(targets), y * (1 - s) + s / 2, rtol=1e-6)
    ours = _np(_core.per_sample_loss(spec, logits, targets))
    loss = keras.losses.BinaryCrossentropy(
        from_logits=True, label_smoothing=s, reduction=None
    )
    assert_allclose(ours, _np(loss(y, logits)), rtol=1e-5, atol=1e-6)
    # Flipping comes first, then smoothing (every label flipped at rate 1).
    both = dataclasses.replace(spec, label_flip=True)
    t = _core.noisy_targets(
        both, y, _hyper(label_smoothing=s, label_flip_rate=1.0), _FixedRng(0)
    )
    assert_allclose(_np(t), (1 - y) * (1 - s) + s / 2, rtol=1e-6)


def test_target_noise_std_is_scaled_per_target_column():
    n, std = 50_000, 0.5
    scale = np.array([1.0, 4.0])
    spec = NetworkSpec(
        n_features=2,
        hidden_layer_sizes=(3,),
        n_outputs=2,
        task="regression",
        target_noise=True,
    )
    y = np.random.default_rng(20).normal(size=(n, 2)).astype("float32")
    hyper = _hyper(target_noise_std=std, target_noise_scale=scale)
    out = _np(_core.noisy_targets(spec, y, hyper, _FixedRng(21)))
    eps = _FixedRng(21).normal(0, (n, 2))
    assert_allclose(out, y + std * scale * eps, rtol=1e-5, atol=1e-5)
    assert_allclose((out - y).std(axis=0), std * scale, rtol=_std_tol(n))
    # Without the switch the targets pass through untouched.
    plain = dataclasses.replace(spec, target_noise=False)
    assert _core.noisy_targets(plain, y, hyper, _FixedRng(21)) is y


# -- estimators: the parameters reach the structure ---------------------------


def test_all_kinds_build_the_shared_structures():
    spec = Clf(**CLF_ALL)._network_spec(2, 1, "binary")
    assert {k: getattr(spec, k) for k in CLF_STRUCTURE} == CLF_STRUCTURE
    assert not spec.target_noise
    spec = Reg(**REG_ALL)._network_spec(3, 1, "regression")
    assert {k: getattr(spec, k) for k in REG_STRUCTURE} == REG_STRUCTURE
    assert not (spec.weight_noise or spec.gradient_noise or spec.label_flip)


@pytest.mark.parametrize(
    "cls, param, value, flag",
    [
        (Clf, "weight_noise_std", 0.1, "weight_noise"),
        (Clf, "gradient_noise_eta", 0.1, "gradient_noise"),
        (Clf, "label_smoothing", 0.1, "label_smoothing"),
        (Clf, "label_flip_rate", 0.1, "label_flip"),
        (Reg, "target_noise_std", 0.1, "target_noise"),
        (Reg, "weight_noise_std", 0.1, "weight_noise"),
    ],
)
def test_each_kind_switches_on_its_own_flag_only(cls, param, value, flag):
    task = "binary" if cls is Clf else "regression"
    plain = cls()._network_spec(2, 1, task)
    spec = cls(**{param: value})._network_spec(2, 1, task)
    assert getattr(spec, flag) and not getattr(plain, flag)
    assert dataclasses.replace(spec, **{flag: False}) == plain
    # A zero rate is the plain structure (one compiled program).
    assert cls(**{param: 0.0})._network_spec(2, 1, task) == plain


def test_noise_type_is_part_of_the_structure_only_with_noise_layers():
    mult = Clf(noise_type="multiplicative", noise_std=0.3)._network_spec(2, 1, "binary")
    assert mult.noise_type == "multiplicative"
    assert mult.noise_sites == ("pre_activation",)
    off = Clf(noise_type="multiplicative", noise_std=0.0)._network_spec(2, 1, "binary")
    assert off == Clf()._network_spec(2, 1, "binary")
    # noise_scale is a hyperparameter, not structure.
    feat = Reg(noise_scale="feature", noise_std=0.3, noise_position="input")
    absolute = Reg(noise_std=0.3, noise_position="input")
    assert feat._network_spec(3, 1, "regression") == absolute._network_spec(
        3, 1, "regression"
    )


def test_zero_rates_inside_the_shared_structure_equal_the_plain_fit():
    X, y = _binary_data()
    plain = _fit(Clf, {}, X, y)
    shared = _clf()
    assert shared._spec != plain._spec
    _assert_same_fit(shared, plain, atol=1e-5)
    assert_allclose(shared.loss_curve_, plain.loss_curve_, rtol=1e-5)
    assert_allclose(shared.predict_proba(X), plain.predict_proba(X), atol=1e-5)
    # With every rate on, the shared structure is the real estimator's.
    real = _fit(Clf, CLF_ALL, X, y)
    assert real._spec == _clf(**CLF_ALL)._spec
    assert_array_equal(real.predict_proba(X), _clf(**CLF_ALL).predict_proba(X))


# -- estimators: each kind acts in training ------------------------------------


def test_multiplicative_noise_degrades_the_fit():
    base = _mean_over_seeds(_train_log_loss, lambda s: _clf(s))
    noisy = _mean_over_seeds(
        _train_log_loss, lambda s: _clf(s, noise_type="multiplicative", noise_std=3.0)
    )
    assert base < 0.1
    assert noisy > 3 * base + 0.1


def test_weight_noise_degrades_the_fit():
    base = _mean_over_seeds(_train_log_loss, lambda s: _clf(s))
    noisy = _mean_over_seeds(_train_log_loss, lambda s: _clf(s, weight_noise_std=5.0))
    assert noisy > 2 * base + 0.03


def test_gradient_noise_degrades_the_fit_and_its_annealing_acts():
    base = _mean_over_seeds(_train_log_loss, lambda s: _clf(s))
    noisy = _mean_over_seeds(
        _train_log_loss, lambda s: _clf(s, gradient_noise_eta=10.0)
    )
    assert noisy > 3 * base + 0.1
    # The same eta with a fast decay (variance 10 / (1 + t)**8) is gone after
    # a few steps: a much better fit than the paper's slow decay.
    fast = _mean_over_seeds(
        _train_log_loss,
        lambda s: _clf(s, gradient_noise_eta=10.0, gradient_noise_gamma=8.0),
    )
    assert fast < noisy / 2


def test_label_smoothing_keeps_probabilities_near_one_minus_s_over_two():
    X, y = _binary_data()

    def true_class(est):
        return est.predict_proba(X)[np.arange(len(y)), y].mean()

    base = _mean_over_seeds(true_class, lambda s: _clf(s))
    smooth = _mean_over_seeds(true_class, lambda s: _clf(s, label_smoothing=0.5))
    assert base > 0.95
    # Targets 0.75 / 0.25: the fit aims at 0.75 for the true class.
    assert abs(smooth - 0.75) < 0.1
    for seed in SEEDS:  # still the right side of 0.5
        assert _clf(seed, label_smoothing=0.5).score(X, y) > 0.9


def test_label_flipping_at_half_gives_chance_probabilities():
    # Half the labels flipped afresh every mini-batch: the targets carry no
    # information, and the fit stays near 0.5 where the clean one is sure.
    X, _ = _binary_data()
    for seed in SEEDS:
        assert np.abs(_clf(seed).predict_proba(X)[:, 1] - 0.5).mean() > 0.4
        p = _clf(seed, label_flip_rate=0.5).predict_proba(X)[:, 1]
        assert np.abs(p - 0.5).mean() < 0.15


def test_label_flipping_every_label_learns_the_opposite_and_is_scored_on_true_labels():
    X, y = _binary_data()
    for seed in SEEDS:
        assert _clf(seed).score(X, y) > 0.95
        est = _clf(seed, label_flip_rate=1.0)
        assert est.score(X, y) < 0.1
        # The recorded training accuracy compares with the true labels.
        assert est.history_["accuracy"][-1] < 0.1


def test_target_noise_degrades_the_fit():
    base = _mean_over_seeds(_train_r2, lambda s: _reg(s))
    noisy = _mean_over_seeds(_train_r2, lambda s: _reg(s, target_noise_std=30.0))
    assert base > 0.95
    assert noisy < base - 0.1


def test_target_noise_relative_to_the_target_std():
    # Target noise 0.25 relative to targets of std 8 is target noise 2.
    X, y = _regression_data()
    y8 = (y - y.mean()) / y.std() * 8.0
    rel = _fit(_RegAllKinds, dict(target_noise_std=0.25, noise_scale="feature"), X, y8)
    ab = _fit(_RegAllKinds, dict(target_noise_std=2.0), X, y8)
    other = _fit(_RegAllKinds, dict(target_noise_std=0.25), X, y8)
    assert_allclose(rel.predict(X), ab.predict(X), rtol=1e-5, atol=1e-5)
    assert not np.allclose(rel.predict(X), other.predict(X), rtol=1e-3)


def _standardized():
    X, y = _regression_data()
    return (X - X.mean(axis=0)) / X.std(axis=0), y


def test_feature_scaled_input_noise_equals_absolute_noise_on_standardized_data():
    Z, y = _standardized()
    feat = _reg(X=Z, noise_std=0.5, noise_position="input", noise_scale="feature")
    ab = _reg(X=Z, noise_std=0.5, noise_position="input")
    assert_allclose(feat.predict(Z), ab.predict(Z), rtol=1e-5, atol=1e-5)
    # Features of std 8: relative noise 0.5 is absolute noise 4.
    Z8 = Z * 8.0
    feat8 = _reg(X=Z8, noise_std=0.5, noise_position="input", noise_scale="feature")
    ab4 = _reg(X=Z8, noise_std=4.0, noise_position="input")
    ab_half = _reg(X=Z8, noise_std=0.5, noise_position="input")
    assert_allclose(feat8.predict(Z8), ab4.predict(Z8), rtol=1e-5, atol=1e-5)
    assert not np.allclose(feat8.predict(Z8), ab_half.predict(Z8), rtol=1e-3)


def test_large_feature_scaled_input_noise_degrades_the_fit_at_any_feature_scale():
    Z, _ = _standardized()
    Z8 = Z * 8.0
    base = _mean_over_seeds(lambda e: _train_r2(e, Z8), lambda s: _reg(s, X=Z8))
    feature = _mean_over_seeds(
        lambda e: _train_r2(e, Z8),
        lambda s: _reg(
            s, X=Z8, noise_std=3.0, noise_position="input", noise_scale="feature"
        ),
    )
    absolute = _mean_over_seeds(
        lambda e: _train_r2(e, Z8),
        lambda s: _reg(s, X=Z8, noise_std=3.0, noise_position="input"),
    )
    assert base > 0.95
    # Noise of 3 feature stds drowns the signal; noise of 3 data units on
    # features of std 8 hurts much less.
    assert feature < base - 0.3
    assert feature < absolute - 0.1


# -- estimators: no kind acts at prediction ------------------------------------


PREDICTION_CASES = {
    "all classifier kinds": (Clf, CLF_ALL),
    "all regressor kinds": (Reg, REG_ALL),
    "multiplicative": (_ClfAllKinds, dict(noise_type="multiplicative", noise_std=3.0)),
    "weight": (_ClfAllKinds, dict(weight_noise_std=5.0)),
    "gradient": (_ClfAllKinds, dict(gradient_noise_eta=10.0)),
    "smoothing": (_ClfAllKinds, dict(label_smoothing=0.5)),
    "flip": (_ClfAllKinds, dict(label_flip_rate=0.5)),
    "target": (_RegAllKinds, dict(target_noise_std=30.0)),
    "feature input": (
        _RegAllKinds,
        dict(noise_std=3.0, noise_position="input", noise_scale="feature"),
    ),
}


@pytest.mark.keras
@pytest.mark.parametrize("case", list(PREDICTION_CASES))
def test_noise_never_acts_at_prediction(case):
    cls, params = PREDICTION_CASES[case]
    is_clf = issubclass(cls, Clf)
    X, y = _binary_data() if is_clf else _regression_data()
    est = _fit(cls, params, X, y)
    out = est.predict_proba(X)[:, 1] if is_clf else est.predict(X)
    again = est.predict_proba(X)[:, 1] if is_clf else est.predict(X)
    assert_array_equal(out, again)
    assert_allclose(out, _numpy_outputs(est, X), rtol=1e-4, atol=1e-5)
    model_out = _np(est.model_(X.astype("float32"), training=False))[:, 0]
    assert_allclose(out, model_out, rtol=1e-5, atol=1e-6)
    if est._spec.noise_type == "multiplicative" and est.noise_std > 0:
        # The Keras model's GaussianDropout layers do act in training mode.
        noisy = _np(est.model_(X.astype("float32"), training=True))[:, 0]
        assert not np.allclose(noisy, model_out, rtol=1e-3)


@pytest.mark.keras
def test_keras_predict_of_the_fitted_model_matches():
    X, y = _binary_data()
    est = _fit(Clf, CLF_ALL, X, y)
    assert_allclose(
        est.predict_proba(X)[:, 1],
        est.model_.predict(X, verbose=0)[:, 0],
        rtol=1e-5,
        atol=1e-6,
    )


# -- parameters ---------------------------------------------------------------

BAD_COMMON = [
    ("noise_type", "gaussian"),
    ("noise_type", "Multiplicative"),
    ("noise_type", None),
    ("noise_type", 1),
    ("noise_scale", "relative"),
    ("noise_scale", None),
    ("weight_noise_std", -0.1),
    ("weight_noise_std", np.nan),
    ("weight_noise_std", "0.1"),
    ("weight_noise_std", None),
    ("gradient_noise_eta", -1e-3),
    ("gradient_noise_eta", np.nan),
    ("gradient_noise_eta", "high"),
    ("gradient_noise_gamma", -0.55),
    ("gradient_noise_gamma", np.nan),
    ("gradient_noise_gamma", None),
]
BAD_CLF = [
    ("label_smoothing", -0.1),
    ("label_smoothing", 1.0),
    ("label_smoothing", 1.5),
    ("label_smoothing", np.nan),
    ("label_smoothing", "0.1"),
    ("label_smoothing", True),
    ("label_flip_rate", -0.01),
    ("label_flip_rate", 1.01),
    ("label_flip_rate", np.nan),
    ("label_flip_rate", True),
    ("label_flip_rate", [0.1]),
]
BAD_REG = [
    ("target_noise_std", -1.0),
    ("target_noise_std", np.nan),
    ("target_noise_std", "1"),
    ("target_noise_std", None),
]


@pytest.mark.parametrize(
    "cls, param, value",
    [(Clf, p, v) for p, v in BAD_COMMON + BAD_CLF]
    + [(Reg, p, v) for p, v in BAD_COMMON + BAD_REG],
)
def test_bad_values_raise_naming_the_parameter(cls, param, value):
    X, y = _binary_data()
    with pytest.raises(InvalidParameterError, match=f"'{param}' parameter") as info:
        cls(**{**FAST, param: value}).fit(X, y)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "cls, params",
    [
        (Clf, dict(label_flip_rate=1.0, label_smoothing=0.0, gradient_noise_gamma=0.0)),
        (Clf, dict(label_smoothing=0.999, weight_noise_std=10.0, gradient_noise_eta=1)),
        (Reg, dict(target_noise_std=0.0, noise_scale="feature", noise_type="additive")),
        (Reg, dict(target_noise_std=100, noise_type="multiplicative")),
    ],
)
def test_boundary_values_are_accepted(cls, params):
    validate_params(cls(**params))


def test_parameters_belong_to_their_estimator():
    with pytest.raises(TypeError):
        Reg(label_smoothing=0.1)
    with pytest.raises(TypeError):
        Reg(label_flip_rate=0.1)
    with pytest.raises(TypeError):
        Clf(target_noise_std=0.1)


def test_defaults_get_params_set_params_and_clone():
    common = dict(
        noise_type="additive",
        noise_scale="absolute",
        weight_noise_std=0.0,
        gradient_noise_eta=0.0,
        gradient_noise_gamma=0.55,
    )
    clf_params, reg_params = Clf().get_params(), Reg().get_params()
    assert {k: clf_params[k] for k in common} == common
    assert {k: reg_params[k] for k in common} == common
    assert clf_params["label_smoothing"] == clf_params["label_flip_rate"] == 0.0
    assert reg_params["target_noise_std"] == 0.0
    assert "target_noise_std" not in clf_params
    assert not {"label_smoothing", "label_flip_rate"} & set(reg_params)
    for est, params in [(Clf(), CLF_ALL), (Reg(), REG_ALL)]:
        est.set_params(**params)
        copy = clone(est)
        assert copy.get_params() == est.get_params()
        assert {k: copy.get_params()[k] for k in params} == params


def test_grid_search_sets_the_new_parameters_on_each_fit():
    X, y = _binary_data()
    as_lists = {k: [v] for k, v in CLF_ALL.items()}
    grid = [{"label_flip_rate": [0.0]}, {**as_lists, "label_flip_rate": [0.1, 1.0]}]
    search = GridSearchCV(Clf(**FAST), grid, cv=3).fit(X, y)
    params = search.cv_results_["params"]
    scores = search.cv_results_["mean_test_score"]
    assert [p["label_flip_rate"] for p in params] == [0.0, 0.1, 1.0]
    assert params[1]["noise_type"] == "multiplicative"
    # Flipping every training label inverts the classifier on the test folds.
    assert scores[0] > 0.8 and scores[1] > 0.8 and scores[2] < 0.2
    best = search.best_estimator_.get_params()
    assert best["label_flip_rate"] in (0.0, 0.1)
    assert search.best_estimator_._spec.label_flip == (best["label_flip_rate"] > 0)


# -- reproducibility -----------------------------------------------------------


@pytest.mark.parametrize("cls, params", [(Clf, CLF_ALL), (Reg, REG_ALL)])
def test_random_state_reproduces_a_fit_with_every_kind(cls, params):
    X, y = _binary_data() if cls is Clf else _regression_data()

    def run(seed):
        est = cls(**{**FAST, **params, "random_state": seed}).fit(X, y)
        out = est.predict_proba(X) if cls is Clf else est.predict(X)
        return out, est.loss_curve_

    a, loss_a = run(0)
    b, loss_b = run(0)
    c, loss_c = run(1)
    assert_array_equal(a, b)
    assert loss_a == loss_b
    assert not np.allclose(a, c)
    assert loss_a != loss_c


# -- persistence -----------------------------------------------------------------


def _round_trip(est, tmp_path, name):
    path = tmp_path / f"{name}.skrobust"
    save(est, path)
    return load(path), path


@pytest.mark.keras
def test_save_load_keeps_multiplicative_and_label_noise(tmp_path):
    X, y = _binary_data()
    est = _fit(Clf, CLF_ALL, X, y)
    loaded, _ = _round_trip(est, tmp_path, "clf")
    assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert loaded.get_params() == est.get_params()
    assert loaded._spec == est._spec
    types = [type(layer).__name__ for layer in loaded.model_.layers[1:]]
    assert types == [
        "GaussianDropout",
        "Dense",
        "GaussianDropout",
        "Activation",
        "Dense",
    ]
    rate = 0.2**2 / (1 + 0.2**2)
    for model in (est.model_, loaded.model_):
        drops = [
            la for la in model.layers if isinstance(la, keras.layers.GaussianDropout)
        ]
        assert len(drops) == 2
        assert all(la.rate == pytest.approx(rate, rel=1e-12) for la in drops)
        # Keras's GaussianDropout std sqrt(rate / (1 - rate)) is noise_std.
        assert all(
            np.sqrt(la.rate / (1 - la.rate)) == pytest.approx(0.2) for la in drops
        )


def test_save_load_keeps_target_noise_and_feature_scale(tmp_path):
    X, y = _regression_data()
    est = _fit(Reg, REG_ALL, X, y)
    loaded, _ = _round_trip(est, tmp_path, "reg")
    assert_array_equal(loaded.predict(X), est.predict(X))
    assert {k: loaded.get_params()[k] for k in REG_ALL} == REG_ALL
    assert loaded._spec == est._spec and loaded._spec.target_noise


def test_file_without_the_new_fields_loads_as_before(tmp_path):
    X, y = _binary_data()
    est = _fit(Clf, {}, X, y)
    _, path = _round_trip(est, tmp_path, "new")
    new_params = set(CLF_ALL) | {"noise_scale"}
    new_spec = set(CLF_STRUCTURE) | {"target_noise"}
    old = tmp_path / "old.skrobust"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(old, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "skrobust.json":
                doc = json.loads(data)
                for key in new_params - {"noise_std", "noise_position"}:
                    del doc["params"][key]
                for key in new_spec - {"noise_sites"}:
                    del doc["spec"][key]
                data = json.dumps(doc).encode()
            zout.writestr(name, data)
    loaded = load(old)
    assert loaded._spec == est._spec
    assert loaded.get_params() == est.get_params()
    assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize(
    "field, value",
    [("noise_type", "cubic"), ("weight_noise", "yes"), ("label_flip", 1)],
)
def test_file_with_an_invalid_noise_field_is_refused(field, value, tmp_path):
    X, y = _binary_data()
    _, path = _round_trip(_fit(Clf, {}, X, y), tmp_path, "good")
    bad = tmp_path / "bad.skrobust"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bad, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == "skrobust.json":
                doc = json.loads(data)
                doc["spec"][field] = value
                data = json.dumps(doc).encode()
            zout.writestr(name, data)
    with pytest.raises(ValueError, match="network description is invalid"):
        load(bad)


# -- batched search (JAX) ----------------------------------------------------------


def test_only_members_without_noise_layers_join_a_run_with_other_noise_sites():
    # A member's noise_std acts at every site of the run it joins: a member
    # with noise at the input only must not join a run that also has hidden
    # noise (it would train with noise it does not have); a member with no
    # noise layer at all may (its noise_std is 0).
    from skrobust.model_selection._grouping import _SWITCHES, _covers

    off = (False,) * len(_SWITCHES)
    on = (True,) * len(_SWITCHES)
    run = (SITES, "multiplicative", on)
    assert _covers(run, ((), None, off))
    assert _covers(run, (SITES, "multiplicative", off))
    assert not _covers(run, (("input",), "multiplicative", off))
    assert not _covers(run, (SITES, "additive", off))
    assert not _covers((SITES, "multiplicative", off), ((), None, on))


# The searches and the cross-validations below have the same number of
# members, so that each pair shares one compiled batched program.
CLF_GRID = [
    # Structures that are subsets of the all-kinds one join its run.
    {"label_smoothing": [0.0, 0.1], "weight_noise_std": [0.0, 0.05]},
    {
        **{k: [v] for k, v in CLF_ALL.items()},
        "gradient_noise_eta": [0.01, 0.1],
    },
]
CLF_MEMBERS = 6 * 3
REG_GRID = {"target_noise_std": [0.0, 0.5], "noise_std": [0.0, 0.3]}
REG_MEMBERS = 4 * 3


def test_batched_search_over_the_kinds_matches_grid_search_cv():
    X, y = _binary_data()
    base = dict(FAST, noise_type="multiplicative", noise_position=SITES)
    kw = dict(cv=CV, scoring="neg_log_loss")
    # max_members above the members: one run, unless their kinds split them.
    ours = BatchedGridSearchCV(Clf(**base), CLF_GRID, max_members=64, **kw)
    ours.fit(X, y)
    assert ours.batch_info_["n_members"] == CLF_MEMBERS
    assert ours.batch_info_["n_batched"] == CLF_MEMBERS
    assert ours.batch_info_["n_fallback"] == 0
    # Every member's kinds are a subset of the all-kinds member's: one run.
    assert ours.batch_info_["n_runs"] == 1
    # Reference: plain fits, each in the all-kinds structure with its own
    # rates (the same as its own structure, see the zero-rates test).
    ref = GridSearchCV(_ClfAllKinds(**base), CLF_GRID, **kw).fit(X, y)
    assert ours.cv_results_["params"] == ref.cv_results_["params"]
    for key in ref.cv_results_:
        if "test_score" in key and not key.startswith("rank"):
            assert_allclose(
                ours.cv_results_[key], ref.cv_results_[key], atol=1e-4, err_msg=key
            )
    # The kinds matter: the candidates' scores are not all alike.
    assert np.ptp(ours.cv_results_["mean_test_score"]) > 0.01
    assert ours.best_params_ == ref.best_params_


def test_batched_members_with_every_kind_equal_their_plain_fits():
    X, y = _binary_data()
    est = Clf(**{**FAST, **CLF_ALL})
    cv = RepeatedKFold(n_splits=3, n_repeats=CLF_MEMBERS // 3, random_state=0)
    out = batched_cross_validate(
        est, X, y, cv=cv, return_estimator=True, return_indices=True
    )
    pairs = list(zip(out["estimator"], out["indices"]["train"], strict=True))
    assert len(pairs) == CLF_MEMBERS
    for member, train in pairs:
        assert member._spec == est._network_spec(2, 1, "binary")
        _assert_same_fit(member, _fit(Clf, CLF_ALL, X[train], y[train]))


def _unequal_scales():
    X, y = _regression_data()
    return X * [1.0, 10.0, 0.1], y


def test_batched_regressor_search_with_target_and_feature_scaled_noise():
    X, y = _unequal_scales()
    base = dict(FAST, noise_position="input", noise_scale="feature")
    kw = dict(cv=CV, scoring="neg_mean_squared_error")
    ours = BatchedGridSearchCV(Reg(**base), REG_GRID, max_members=64, **kw)
    ours.fit(X, y)
    ref = GridSearchCV(_RegAllKinds(**base), REG_GRID, **kw).fit(X, y)
    assert ours.batch_info_["n_batched"] == REG_MEMBERS
    assert ours.batch_info_["n_runs"] == 1
    for key in ref.cv_results_:
        if "test_score" in key and not key.startswith("rank"):
            assert_allclose(
                ours.cv_results_[key], ref.cv_results_[key], rtol=1e-4, err_msg=key
            )
    # Each member's noise is relative to its own training fold's spread.
    cv = RepeatedKFold(n_splits=3, n_repeats=REG_MEMBERS // 3, random_state=0)
    out = batched_cross_validate(
        Reg(**{**FAST, **REG_ALL}),
        X,
        y,
        cv=cv,
        return_estimator=True,
        return_indices=True,
    )
    for member, train in zip(out["estimator"], out["indices"]["train"], strict=True):
        _assert_same_fit(member, _fit(Reg, REG_ALL, X[train], y[train]))
