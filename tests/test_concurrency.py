"""Concurrency: threads sharing a fitted estimator, process-parallel searches,
and the knob that keeps TensorFlow/XLA thread pools from oversubscribing the
machine when joblib runs several workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV

from skrobust import NoisyMLPClassifier, NoisyMLPRegressor, engine

X, Y = make_classification(n_samples=60, n_features=4, random_state=0)
TINY = dict(hidden_layer_sizes=(5,), epochs=5, random_state=0)


def test_predicting_from_many_threads_equals_serial_predictions():
    est = NoisyMLPClassifier(**TINY).fit(X, Y)
    # Chunks of different lengths: the threads also race to compile the
    # predict program for new shapes (the compiled cache starts empty).
    chunks = [X[: 5 + (i % 7) * 8] for i in range(48)]
    engine.clear_cache()
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(est.predict_proba, chunks))
    serial = [est.predict_proba(c) for c in chunks]
    for t, s in zip(threaded, serial, strict=True):
        np.testing.assert_array_equal(t, s)


def test_fitting_clones_from_several_threads_equals_serial_fits():
    seeds = [0, 1, 2, 3]
    ests = [NoisyMLPRegressor(**{**TINY, "random_state": s}) for s in seeds]
    serial = [clone(e).fit(X, X[:, 0]).predict(X) for e in ests]
    engine.clear_cache()
    with ThreadPoolExecutor(max_workers=4) as pool:
        fitted = list(pool.map(lambda e: e.fit(X, X[:, 0]), ests))
    for est, want in zip(fitted, serial, strict=True):
        np.testing.assert_array_equal(est.predict(X), want)


def test_grid_search_with_two_loky_workers_equals_one_process():
    grid = {"noise_std": [0.0, 0.3]}
    search = dict(cv=2, return_train_score=True)
    local = GridSearchCV(NoisyMLPClassifier(**TINY), grid, n_jobs=1, **search).fit(X, Y)
    # loky workers are fresh processes: they inherit os.environ, so they import
    # Keras with the same KERAS_BACKEND.
    par = GridSearchCV(NoisyMLPClassifier(**TINY), grid, n_jobs=2, **search).fit(X, Y)
    for key in local.cv_results_:
        if "_score" in key and "time" not in key:
            np.testing.assert_array_equal(
                par.cv_results_[key], local.cv_results_[key], err_msg=key
            )
    assert par.best_params_ == local.best_params_


# -- thread pools --------------------------------------------------------------
# TensorFlow and XLA size their intra-op pools from the CPUs the process may
# run on, ignoring OMP_NUM_THREADS / threadpoolctl (which joblib's loky
# workers set). Two knobs do limit them, measured below: the CPU affinity of
# the process (both backends; ``taskset -c``, ``os.sched_setaffinity`` before
# the first computation) and, for TensorFlow only, TF_NUM_INTRAOP_THREADS.
# (XLA_FLAGS=--xla_cpu_multi_thread_eigen=false had no effect with jax 0.10.)

_MEASURE = """
    import json, psutil, numpy as np
    from skrobust import NoisyMLPRegressor
    X = np.random.default_rng(0).normal(size=(2048, 256))
    est = NoisyMLPRegressor((512, 512), epochs=1, batch_size=2048, random_state=0)
    est.fit(X, X[:, 0]).predict(X)
    proc = psutil.Process()
    before = {t.id: t.user_time + t.system_time for t in proc.threads()}
    for _ in range(8):
        est.predict(X)
    after = {t.id: t.user_time + t.system_time for t in proc.threads()}
    # The main thread validates and converts X; the question is how many
    # pool threads share the compiled computation.
    used = sorted((after[i] - before.get(i, 0.0) for i in after if i != proc.pid),
                  reverse=True)
    print(json.dumps({"shares": [u / max(sum(used), 1e-9) for u in used]}))
"""


def _busy_threads(env=None, cpus=None):
    """Number of threads besides the main one that did at least a fifth of
    the CPU work of a fresh process predicting with a wide network."""
    preexec = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_MEASURE)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=preexec,
        env=dict(os.environ, KERAS_BACKEND=keras.backend.backend(), **(env or {})),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    shares = json.loads(proc.stdout.strip().splitlines()[-1])["shares"]
    return sum(share >= 0.2 for share in shares)


needs_two_cpus = pytest.mark.skipif(
    len(os.sched_getaffinity(0)) < 2, reason="a pool of one CPU cannot be split"
)
# These tests read how a process's CPU time spreads over its threads: another
# busy process on the machine (tests/run.py runs the backends side by side)
# would change the spread, so they are marked serial and run alone.


@pytest.mark.serial
@needs_two_cpus
def test_without_a_knob_compute_spreads_over_several_threads():
    # The control for the knob tests below: they would pass trivially if the
    # backend never used more than one thread. How the pool shares a short
    # computation varies from run to run (sometimes many threads each take
    # less than a fifth), so the control asks that it spreads in one of three
    # runs.
    assert any(_busy_threads() >= 2 for _ in range(3))


@pytest.mark.serial
@needs_two_cpus
def test_cpu_affinity_confines_compute_to_one_thread():
    assert _busy_threads(cpus={min(os.sched_getaffinity(0))}) <= 1
