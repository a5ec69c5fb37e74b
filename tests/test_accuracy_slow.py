"""skrobust's compiled training reaches the test accuracy of Keras Model.fit
on the tutorials' W1 model (a reduced benchmarks/accuracy_equivalence.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import keras
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_w1_accuracy_matches_keras_model_fit_over_seeds():
    # Deselected by default (pyproject's addopts); run with -m slow.
    sys.path.insert(0, str(BENCH))
    from accuracy_equivalence import collect, compare

    seeds, epochs = list(range(6)), 300
    ours = collect("skrobust", keras.backend.backend(), seeds, epochs)
    # Keras's own Model.fit runs several times faster per epoch on JAX.
    keras_backend = "jax" if importlib.util.find_spec("jax") else "tensorflow"
    theirs = collect("keras", keras_backend, seeds, epochs)
    r = compare(ours, theirs, margin=0.05)
    # No detectable difference, and the means within a few points.
    assert r["welch_p"] > 0.01, r
    assert abs(r["diff"]) < 0.06, r
