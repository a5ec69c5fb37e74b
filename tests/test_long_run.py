"""Many consecutive fits in one process keep memory and per-fit time flat
(a light version of ``benchmarks/long_run.py``)."""

from __future__ import annotations

import gc
import statistics
import time

import psutil
import pytest
from sklearn.datasets import make_circles

from skrobust import NoisyMLPClassifier

FITS, WARMUP = 30, 10

# Per-fit time is measured: another busy process would be read as a slowdown.
pytestmark = pytest.mark.serial


def test_thirty_fits_keep_memory_and_fit_time_flat():
    X, y = make_circles(n_samples=100, noise=0.1, random_state=1)
    proc = psutil.Process()
    times, rss = [], []
    for seed in range(FITS):
        est = NoisyMLPClassifier((64,), noise_std=0.1, epochs=50, random_state=seed)
        t0 = time.perf_counter()
        est.fit(X[:30], y[:30]).predict(X[30:])
        # Building the Keras model each time exercises Keras's global state too.
        assert est.model_.count_params() == 2 * 64 + 64 + 64 + 1
        times.append(time.perf_counter() - t0)
        del est
        gc.collect()
        rss.append(proc.memory_info().rss / 2**20)
    growth = rss[-1] - rss[WARMUP - 1]
    # A leak of one compiled program or one copy of the data per fit would
    # show as several MB per fit; the bound leaves room for allocator noise.
    assert growth < 40, f"RSS grew {growth:.1f} MB over {FITS - WARMUP} fits: {rss}"
    first = statistics.median(times[WARMUP : WARMUP + 10])
    last = statistics.median(times[-10:])
    assert last < 3 * first + 0.05, f"fit time {first:.3f} s -> {last:.3f} s"
