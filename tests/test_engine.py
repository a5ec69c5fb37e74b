"""The training engine keeps the semantics of the Keras layers and optimizers
it replaces (issue 2: "same semantics as the Keras model the tutorial would
write")."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from skrobust import engine
from skrobust._network import NetworkSpec, build_keras_model, init_weights, set_weights
from skrobust.engine import _core, _optim, _random
from skrobust.engine._api import to_device

# The engine against Keras's reference layers and optimizers is the same
# JAX code on either Keras backend, so these run once; the model Keras builds
# on its backend (``keras`` marker) is checked on every backend (tests/run.py).


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize(
    "name, keras_optimizer, hyper",
    [
        ("adam", keras.optimizers.Adam(learning_rate=0.01), {"learning_rate": 0.01}),
        (
            "sgd",
            keras.optimizers.SGD(learning_rate=0.05, momentum=0.9),
            {"learning_rate": 0.05, "momentum": 0.9},
        ),
        ("sgd", keras.optimizers.SGD(learning_rate=0.05), {"learning_rate": 0.05}),
        (
            "rmsprop",
            keras.optimizers.RMSprop(learning_rate=0.01),
            {"learning_rate": 0.01},
        ),
    ],
)
def test_optimizer_steps_match_keras(
    name, keras_optimizer, hyper, assert_steps_match_keras
):
    assert_steps_match_keras(name, keras_optimizer, {"momentum": 0.0, **hyper}, 3)


def test_max_norm_matches_keras_constraint():
    w = np.random.default_rng(1).normal(size=(5, 3)).astype("float32") * 4
    ours = _np(_optim._max_norm(w, 2.0))
    theirs = _np(keras.constraints.MaxNorm(2.0)(w))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def _spec(**kw):
    base = dict(n_features=3, hidden_layer_sizes=(5, 4), n_outputs=1, task="binary")
    return NetworkSpec(**{**base, **kw})


@pytest.mark.keras
@pytest.mark.parametrize("batchnorm", [None, "before", "after"])
@pytest.mark.parametrize(
    "task, n_outputs", [("binary", 1), ("multiclass", 3), ("regression", 2)]
)
def test_inference_forward_matches_the_keras_model(batchnorm, task, n_outputs):
    spec = _spec(
        batchnorm=batchnorm,
        task=task,
        n_outputs=n_outputs,
        noise_sites=("input", "pre_activation"),
        dropout=True,
    )
    w = init_weights(spec, 0)
    if batchnorm:
        rng = np.random.default_rng(0)
        for key in ("means", "vars"):
            w["bn_state"][key] = [
                rng.uniform(0.5, 2, size=u).astype("float32")
                for u in spec.hidden_layer_sizes
            ]
        w["params"]["gammas"] = [
            rng.uniform(0.5, 2, size=u).astype("float32")
            for u in spec.hidden_layer_sizes
        ]
    model = build_keras_model(spec)
    set_weights(model, spec, w["params"], w["bn_state"])
    X = np.random.default_rng(2).normal(size=(7, 3)).astype("float32")
    ours = engine.predict(spec, w, X)
    theirs = _np(model(X, training=False))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_training_batchnorm_matches_keras_and_ignores_masked_rows():
    spec = _spec(hidden_layer_sizes=(4,), batchnorm="before")
    w = init_weights(spec, 0)
    X = np.random.default_rng(3).normal(size=(6, 3)).astype("float32")
    garbage = np.vstack([X, np.full((2, 3), 50.0, "float32")])
    mask = np.array([1] * 6 + [0, 0], dtype="float32")
    logits, new_bn = _core.forward(
        spec,
        w["params"],
        w["bn_state"],
        garbage,
        training=True,
        hyper={},
        rng=None,
        mask=mask,
    )
    layer = keras.layers.BatchNormalization()
    h = X @ w["params"]["kernels"][0] + w["params"]["biases"][0]
    expected = _np(layer(h, training=True))
    ours_h = _np(keras.ops.relu(expected)) @ w["params"]["kernels"][1]
    np.testing.assert_allclose(
        _np(logits)[:6], ours_h + w["params"]["biases"][1], rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        _np(new_bn["means"][0]), _np(layer.moving_mean), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        _np(new_bn["vars"][0]), _np(layer.moving_variance), rtol=1e-5, atol=1e-6
    )


class _FixedRng:
    """Draws from NumPy, so the test sees exactly what the layer receives."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def normal(self, site, shape):
        return self.rng.normal(size=tuple(shape)).astype("float32")

    def uniform(self, site, shape):
        return self.rng.uniform(size=tuple(shape)).astype("float32")


def test_input_noise_adds_scaled_standard_normal_noise_even_above_one():
    spec = _spec(noise_sites=("input",), hidden_layer_sizes=(2,))
    X = np.zeros((4000, 3), "float32")
    hyper = {"noise_std": 3.0}
    # Identity-like probe: compare the hidden pre-activations with and
    # without noise through the same kernel.
    w = init_weights(spec, 0)
    params = dict(w["params"])
    params["kernels"] = [np.eye(3, 2, dtype="float32"), params["kernels"][1]]
    rng_a, rng_b = _FixedRng(0), _FixedRng(0)
    noisy, _ = _core.forward(
        spec,
        params,
        {},
        X,
        training=True,
        hyper=hyper,
        rng=rng_a,
        mask=np.ones(4000, "float32"),
    )
    drawn = rng_b.normal(0, (4000, 3)) * 3.0
    relu_h = np.maximum(drawn @ np.eye(3, 2), 0)
    expected = relu_h @ params["kernels"][1] + params["biases"][1]
    np.testing.assert_allclose(_np(noisy), expected, rtol=1e-4, atol=1e-4)


def test_dropout_is_inverted_dropout():
    spec = _spec(input_dropout=True, hidden_layer_sizes=(3,))
    w = init_weights(spec, 0)
    params = dict(w["params"])
    params["kernels"] = [np.eye(3, dtype="float32"), np.ones((3, 1), "float32")]
    X = np.ones((5000, 3), "float32")
    out, _ = _core.forward(
        spec,
        params,
        {},
        X,
        training=True,
        hyper={"input_dropout": 0.25},
        rng=_FixedRng(1),
        mask=np.ones(5000, "float32"),
    )
    # Each kept input is scaled by 1/(1-0.25); the sum over 3 inputs keeps
    # its expectation of 3.
    values = _np(out)[:, 0]
    allowed = np.array([0.0, 4 / 3, 8 / 3, 4.0])
    assert np.all(np.min(np.abs(values[:, None] - allowed), axis=1) < 1e-4)
    assert abs(_np(out).mean() - 3.0) < 0.1


def _train(spec, X, y, epochs=3, batch_size=4, pad=True, seed=0, fill=None):
    cfg = engine.make_config(
        optimizer="adam",
        batch_size=batch_size,
        n_train=len(X),
        shuffle=True,
        has_val=False,
        early_stopping=False,
        patience=1,
        epochs=epochs,
    )
    data = engine.prepare_data(
        X, y, np.ones(len(X)), batch_size=cfg.batch_size if pad else None
    )
    if fill is not None:
        # Whatever the padding rows hold, their mask keeps them out.
        for k in ("X", "y", "w"):
            data[k][len(X) :] = fill
    hyper = engine.hyper_arrays(
        noise_std=0.3, dropout=0.0, input_dropout=0.0, learning_rate=0.01, momentum=0.0
    )
    return engine.train(spec, cfg, init_weights(spec, seed), data, hyper, seed, epochs)


def test_padding_rows_to_whole_batches_changes_nothing():
    spec = _spec(noise_sites=("pre_activation",))
    rng = np.random.default_rng(4)
    X = rng.normal(size=(10, 3)).astype("float32")
    y = (X[:, :1] > 0).astype("float32")
    # engine.train pads the plain data with zero rows itself; the padded
    # rows here hold other values.
    padded = _train(spec, X, y, pad=True, fill=1.0)
    plain = _train(spec, X, y, pad=False)
    np.testing.assert_allclose(padded.history["loss"], plain.history["loss"], rtol=1e-5)
    for a, b in zip(
        padded.weights["params"]["kernels"],
        plain.weights["params"]["kernels"],
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_same_seed_same_training_and_other_seed_differs():
    spec = _spec(noise_sites=("pre_activation",))
    rng = np.random.default_rng(5)
    X = rng.normal(size=(12, 3)).astype("float32")
    y = (X[:, :1] > 0).astype("float32")
    a, b, c = _train(spec, X, y), _train(spec, X, y), _train(spec, X, y, seed=1)
    assert a.history["loss"] == b.history["loss"]
    assert a.history["loss"] != c.history["loss"]


def test_compiled_programs_are_reused_across_fits():
    spec = _spec(hidden_layer_sizes=(3,))
    X = np.random.default_rng(6).normal(size=(8, 3)).astype("float32")
    y = (X[:, :1] > 0).astype("float32")
    engine.clear_cache()
    _train(spec, X, y)
    n_programs = len(engine._api._PROGRAMS._items)
    _train(spec, X, y, seed=3)
    _train(spec, X[:7], y[:7])  # fewer rows, same number of batches
    assert len(engine._api._PROGRAMS._items) == n_programs == 1


def test_the_engine_trains_without_tensorflow(tmp_path):
    # One engine (issue 18): training and prediction run in JAX whatever
    # Keras's backend; with the JAX backend, TensorFlow is never imported.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from skrobust import NoisyMLPClassifier\n"
        "X = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [1.0, 1.0]]\n"
        "NoisyMLPClassifier((2,), epochs=2, n_members=2, random_state=0)"
        ".fit(X, [0, 1, 0, 1]).predict(X)\n"
        "print('tensorflow' in sys.modules)\n"
    )
    env = {**__import__("os").environ, "KERAS_BACKEND": "jax"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("name", sorted(_core.ACTIVATIONS))
def test_activations_match_keras(name):
    x = np.linspace(-6.0, 6.0, 97, dtype="float32")
    ours = np.asarray(_core.ACTIVATIONS[name](x))
    np.testing.assert_allclose(
        ours, _np(keras.activations.get(name)(x)), rtol=1e-5, atol=1e-6
    )


def _loop_inputs(spec, n_rows, batch_size, pad, n_val=0):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(n_rows + n_val, spec.n_features)).astype("float32")
    y = (X[:, :1] > 0).astype("float32")
    cfg = engine.make_config(
        optimizer="adam",
        batch_size=batch_size,
        n_train=n_rows,
        shuffle=True,
        has_val=n_val > 0,
        early_stopping=n_val > 0,
        patience=1,
        epochs=2,
    )
    val = (X[n_rows:], y[n_rows:]) if n_val else (None, None)
    data = engine.prepare_data(
        X[:n_rows],
        y[:n_rows],
        np.ones(n_rows),
        *val,
        batch_size=cfg.batch_size if pad else None,
    )
    hyper = engine.hyper_arrays(
        noise_std=0.1, dropout=0.0, input_dropout=0.0, learning_rate=0.01, momentum=0.0
    )
    args = (
        _core.init_state(spec, cfg, init_weights(spec, 0), to_device),
        to_device(data),
        to_device(engine._api.used_hyper(spec, cfg, hyper)),
        _random.make_key(0),
        np.int32(0),
        np.int32(cfg.chunk),
    )
    return cfg, args


def _optimized_program(spec, cfg, args) -> str:
    """The optimized XLA program of a training chunk."""
    import jax

    from skrobust.engine import _loop

    return jax.jit(_loop.make_run(spec, cfg)).lower(*args).compile().as_text()


@pytest.mark.parametrize("pad, n_val", [(True, 0), (True, 100)])
def test_a_mini_batch_step_computes_on_batch_rows_only(pad, n_val):
    # Guards against the slow path of issue 11: a batch slice whose size XLA
    # does not know makes every step run over all N training rows (masked
    # down to the batch), so the per-step cost grows with the table. Also
    # with early stopping on validation rows (evaluated once per epoch).
    n_rows, units, bs = 1030, 7, 32
    spec = _spec(n_features=3, hidden_layer_sizes=(units,), noise_sites=("input",))
    cfg, args = _loop_inputs(spec, n_rows, bs, pad, n_val)
    hlo = _optimized_program(spec, cfg, args)
    n_data = args[1]["X"].shape[0]
    assert f"f32[{bs},{units}]" in hlo
    assert f"[{n_data},{units}]" not in hlo
    assert f"[{n_data},3]" in hlo  # the data itself is there, once


def _train_with_validation(spec, X, y, X_val, y_val):
    cfg = engine.make_config(
        optimizer="adam",
        batch_size=4,
        n_train=len(X),
        shuffle=True,
        has_val=True,
        early_stopping=False,
        patience=1,
        epochs=1,
    )
    data = engine.prepare_data(X, y, np.ones(len(X)), X_val, y_val, cfg.batch_size)
    hyper = engine.hyper_arrays(
        noise_std=0.0, dropout=0.0, input_dropout=0.0, learning_rate=0.01, momentum=0.0
    )
    return engine.train(spec, cfg, init_weights(spec, 0), data, hyper, 0, 1)


def test_validation_sets_of_nearby_sizes_share_a_program_and_padding_is_ignored():
    spec = _spec(hidden_layer_sizes=(3,))
    rng = np.random.default_rng(8)
    X = rng.normal(size=(30, 3)).astype("float32")
    y = (X[:, :1] > 0).astype("float32")
    shapes = set()
    for n_val in (10, 9):
        Xv = X[12 : 12 + n_val]
        data = engine.prepare_data(X[:12], y[:12], np.ones(12), Xv, y[12 : 12 + n_val])
        shapes.add(tuple(v.shape for v in data.values()))
        res = _train_with_validation(
            spec, X[:12], y[:12], X[12 : 12 + n_val], y[12 : 12 + n_val]
        )
        p = engine.predict(spec, res.weights, X[12 : 12 + n_val])[:, 0]
        t = y[12 : 12 + n_val, 0]
        expected_loss = -np.mean(t * np.log(p) + (1 - t) * np.log(1 - p))
        np.testing.assert_allclose(res.history["val_loss"][0], expected_loss, rtol=1e-4)
        expected_acc = np.mean((p > 0.5) == (t > 0.5))
        np.testing.assert_allclose(res.history["val_score"][0], expected_acc)
    # Compiled programs are keyed by their inputs' shapes.
    assert len(shapes) == 1


def test_clear_cache_forgets_batched_programs_too():
    from skrobust import NoisyMLPClassifier
    from skrobust.model_selection import batched_cross_validate

    X = np.random.default_rng(10).normal(size=(16, 2)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    batched_cross_validate(
        NoisyMLPClassifier((2,), epochs=1, random_state=0), X, y, cv=2
    )
    cached = engine._api._PROGRAMS._items
    assert any("batched" in key for key in cached)
    engine.clear_cache()
    assert not cached
