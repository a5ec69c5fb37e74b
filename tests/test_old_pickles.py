"""Pickles written before the estimators left ``skrobust/_mlp.py`` name their
class ``skrobust._mlp.NoisyMLPClassifier`` (or ``...Regressor``): they still
load, through the shim that module now is, and predict as before."""

from __future__ import annotations

import pickle
import pickletools

import numpy as np
import pytest
from sklearn.base import clone

from skrobust import NoisyMLPClassifier, NoisyMLPRegressor

TINY = dict(hidden_layer_sizes=(8,), epochs=5, random_state=0)


def _as_written_before_the_split(est) -> bytes:
    """``est`` pickled as a pickle of before the split names its class.

    Protocol 2 names each class in a text ``GLOBAL`` opcode ("module\\nname")
    and has no frames whose lengths a rewrite would break."""
    data = pickle.dumps(est, protocol=2)
    module = type(est).__module__.encode()
    name = type(est).__name__.encode()
    new = b"c" + module + b"\n" + name + b"\n"
    assert data.count(new) == 1
    return data.replace(new, b"cskrobust._mlp\n" + name + b"\n")


@pytest.mark.parametrize("cls", [NoisyMLPClassifier, NoisyMLPRegressor])
def test_a_pickle_naming_the_old_module_loads_and_predicts_the_same(cls, circles):
    X, y = circles
    est = cls(**TINY).fit(X, y)
    old = _as_written_before_the_split(est)
    globals_named = [
        arg for op, arg, _ in pickletools.genops(old) if op.name == "GLOBAL"
    ]
    assert f"skrobust._mlp {cls.__name__}" in globals_named
    assert not any(g.startswith(cls.__module__ + " ") for g in globals_named)
    back = pickle.loads(old)
    assert type(back) is cls
    assert back.get_params() == est.get_params()
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    if cls is NoisyMLPClassifier:
        np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))


@pytest.mark.parametrize("cls", [NoisyMLPClassifier, NoisyMLPRegressor])
def test_a_pickle_without_later_parameters_loads_with_their_defaults(cls, circles):
    # A pickle of before ``tol`` and ``warm_start`` existed: its state lacks
    # them. It loads, takes their defaults, predicts as before and refits.
    X, y = circles
    est = cls(**TINY, tol=0.5, warm_start=True).fit(X, y)
    expected = est.predict(X)
    for name in ("tol", "warm_start"):
        del est.__dict__[name]
    back = pickle.loads(pickle.dumps(est))
    defaults = cls().get_params()
    assert back.tol == defaults["tol"] and back.warm_start == defaults["warm_start"]
    assert back.get_params()["hidden_layer_sizes"] == TINY["hidden_layer_sizes"]
    np.testing.assert_array_equal(back.predict(X), expected)
    clone(back).fit(X, y)
