"""Shared test settings: quiet TensorFlow logs, the Agg plotting backend,
hypothesis profiles, the phase selection of ``tests/run.py`` and small data
sets."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Compiled programs go to a folder of this test run (tests/run.py shares one
# between its pytest processes), never the user's cache: the suite neither
# writes there nor depends on what earlier runs left. The processes the tests
# start inherit it, so a program compiled once is loaded by the others.
if "SKROBUST_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="skrobust-test-programs-")
    os.environ["SKROBUST_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# CI replays the same examples on every run (HYPOTHESIS_PROFILE=ci, set by
# .ci/run), so a red build is never a new random draw; a failure found there
# reproduces locally with the same profile. Locally the default profile keeps
# exploring new examples.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_report_header(config):
    phase = os.environ.get("SKROBUST_TEST_PHASE", "all")
    return (
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"hypothesis profile {settings.get_current_profile_name()}, phase {phase}"
    )


def pytest_collection_modifyitems(config, items):
    """``tests/run.py`` runs the backends side by side (phase ``parallel``)
    and then the ``serial`` tests alone (phase ``serial``); plain pytest runs
    everything."""
    phase = os.environ.get("SKROBUST_TEST_PHASE", "all")
    if phase == "all":
        return
    want_serial = phase == "serial"
    keep, drop = [], []
    for item in items:
        is_serial = item.get_closest_marker("serial") is not None
        (keep if is_serial == want_serial else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def circles():
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=60, noise=0.1, random_state=1)
    return X, y


@pytest.fixture
def regression_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=50)
    return X, y


@pytest.fixture
def assert_steps_match_keras():
    """``check(name, keras_optimizer, hyper, steps, switches=None,
    decay_biases=True)``: ``engine._optim.apply_updates`` with optimizer
    ``name``, engine values ``hyper`` and the spec ``switches`` (default:
    weight decay and schedule off) against ``keras_optimizer.apply``, step
    by step, on one
    random (3, 4) kernel and its bias with fresh random gradients each step.
    ``decay_biases=False`` excludes the bias from Keras's weight decay, as
    skrobust decays kernels only."""
    from skrobust._spec import NetworkSpec
    from skrobust.engine import _optim

    def check(name, keras_optimizer, hyper, steps, switches=None, decay_biases=True):
        if switches is None:
            switches = NetworkSpec(3, (4,), 4, "regression")
        rng = np.random.default_rng(0)
        params = {
            "kernels": [rng.normal(size=(3, 4)).astype("float32")],
            "biases": [rng.normal(size=4).astype("float32")],
        }
        kernel = keras.Variable(params["kernels"][0])
        bias = keras.Variable(params["biases"][0])
        if not decay_biases:
            keras_optimizer.exclude_from_weight_decay(var_list=[bias])
        state = _optim.init_optimizer(name, params)
        ours = params
        for step in range(1, steps + 1):
            grads = {
                "kernels": [rng.normal(size=(3, 4)).astype("float32")],
                "biases": [rng.normal(size=4).astype("float32")],
            }
            ours, state = _optim.apply_updates(
                name, ours, grads, state, step, hyper, switches
            )
            keras_optimizer.apply(
                [grads["kernels"][0], grads["biases"][0]], [kernel, bias]
            )
            for mine, theirs in (
                (ours["kernels"][0], kernel),
                (ours["biases"][0], bias),
            ):
                np.testing.assert_allclose(
                    keras.ops.convert_to_numpy(mine),
                    keras.ops.convert_to_numpy(theirs),
                    rtol=1e-5,
                    atol=1e-6,
                )

    return check
